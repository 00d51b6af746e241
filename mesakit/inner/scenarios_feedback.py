"""Lesson 01 concept-check feedback, sealed (written by tools/concept_feedback.py; do not edit).

For each scenario, field and letter: why that option is wrong (or, for the right one, why it is
right), XOR-ed with :func:`mesakit.inner.scenarios.feedback_keystream`. :func:`mesakit.inner.scenarios.explain`
unseals the text of a letter a learner chose."""

SEALED: dict[str, dict[str, dict[str, str]]] = {
    "evolution": {
        "base_optimizer": {
            "a": "0dnjxHt8z5wLdsZt8xlgPJ+uvUZSIyKfRs7GmqXQLkxKAhKkYOlCqXMRiQT7qQMFMQhjJMlxexkdtsYeTE5K10FlZaysaHknJDIkAAeaBEx7jFmOl8hLPkwzhwQQhQ4G0GJP35EhXRmmqa3hcR8pL1A27Ew9rpv/EigLFkqHHQ7eGfQSXEQKqJ6zoIjSXpCwcwHW072t2ZIrbQg=",
            "b": "kHWqqH59tkIlI/avYIG2+vY8SQioc1/Q5DP3vP5RkFxyBWQygFfEIBnch7BQi1ztXt4Sgdan+5bkCFbEKZYSOq6H3TLEaBKh8yi5neHNyfJe7VtbIh5U",
            "c": "oq/6ZbEm5AaoCUcAe9Htjd30/veeyM8R5Oh/UZjzktMVPS1tHSCQkuuZ09o/RHB7+bQcGe9R9jiXMACheM0Bi9+mCmA4ayT/2pnQVjnEPjfmKdx7Upn9YHShKsOub1ilk4PhLv0xDZ92vdJ+pQigGLP4kgJ+rQ==",
            "d": "7/EzRu1tKojVYp5f552f5DdcLEZexcu7cTsoVVOkqnqGJHoJzfsCvPlk/d184s1Gf7INlYcaHN9BIYHifARlQpf3TUk/YdMZniC4kV1cbXTSKQ7btoho7K4QrbjsvJgLo2Hi/VmB+1gjh+W4Nau90efgf98Krw==",
        },
        "base_objective": {
            "a": "T2gNtMkD5pbHY996u29AvyCl6g+UELhbU/PXPS3y6M7u74zy/7/+pZORg/T56rP+5Qg1hTfx84VHMwXFNaGB/rGHRWVWmrC9B6TlTVNZ9j4CbbK3pL7pq8u0T2AfrNxdLJbN",
            "b": "cfMyqnVPSx/b1+JGkEuKxCxv7NHjCzi1W68w4CbL+mg4CKjLdSIcAq1ffcSmQBJWUmiuNmrF8RN2OeC/ZEyEJ404/ABS4WEBxlhal8g1l8KvlpegoDspT4PSjkncmvxOwKaJacemmTF3TBo0XlWBuyGKqeL6MxRQySkA2XrU4TDYuBxxPge5rFqWiOB9X98mBh/W",
            "c": "dHWl7Ei5Ph1ugSIcWbLn+SB0BhvZaAgpRObxxQ8qGwNPZwEEMd1rIOV/vvn78ruU6I0gD2z9Lv6gkpTw2OX2r5XjJ0LS7P2i1vElV2orhJI3F5Hik+9X7q+WvgekiraAYIgmOuwG6rx7vh32Faa4EBKn60ASzMuwENJPssab+xcGmHHymaDHV3WhvtRrzyG0VA==",
            "d": "uvvxRzDTHBgUz6QOd0mzDJqwB55iye/PxabLzW4IHkvaLF1/IzlH1qnYyUXflnwgpHvglvuLHY9+HIUSF2AXkTFJM2qNxgPUFebVQNcejkzfpRmVynhi3F1DTyFrioRgzGd9rHyRycw=",
        },
        "mesa_objective": {
            "a": "nmGLvGoMUghogi1DJ0M14mBA7L/ZajtSn2x2RLoCPsHwFWkxEyBt9KBpgqSd9xS/+U7PhTER8uj02OTxWa1wu2aFwhrgdpELqBArES8cg3enKy1WYfkx4GN4AYXGcy6DUOUFt4YzQRKgb286YINowmGgxq3YmGa3ewXxWHZOpulmt3UuA+3ddMgReZSSmDxPiQ==",
            "b": "LwXMT2VJ7XTs9tzUP8eLpBMeOgCu+Mk7W+6c86R3vnfLW9AvfnkywOLtCGFtFOYxk4SQH/PlubesqXwQOHoU9MTFhx21hd/q1ureHGLj+pv9EQ6OT7Ij/4Twrnc1KdgsfATdT5UZSWgeKuU8RDq/C7CFgQ==",
            "c": "JB0nTSpKAGBUKP6owdwy4SKxHHi2TRoqJ1HYS6sFQMoX9yl8uYTCGyxrzwIBujJsG6wFw43yMIkBC7XhvRTFtrAoy+L7EJn2AzENKfbkMyGf3bZgBGsQId0Vnji+b/CnOgfGKLO5CyA=",
            "d": "aIpN4/KRgccm6rib2+S8oOaYc2KY84vX7HSJyHbZQzN2LeQYilUN3corvH16JKjidfCHEranhn6LX3VLPL8dOVn6j57FgLU8qXcpdQzY3zWJsz7Itnl29euvxQ==",
        },
    },
    "handbuilt": {
        "base_optimizer": {
            "a": "Osf848FnER/8E40oH9iXiN5OcmQmW0y5Nb5zr7G4NckSB5LbaTqgIA0yqr1HHPK1YZryd/gEGxyCpv5I3IzZpItMcvvSDmPNQ/xLGMO5nP/mSltsMntk+S6swrXvFMOo/NjC6xwM3Bi3aYG5+89dU9Pl9nmE39Fw7d1MO7g=",
            "b": "IUUxxCUU/Pp/gg89PHvxRXacLIdH9+5gRFFvsprtdwDX51j3/CQ4tzxlLcy6Mm6mBTi/V7/Nr5WZZU8YEG1VIJgMioFniBMIKC8IAcDghbfAARbJLEZC0k1dPx7IK37uo7s=",
            "c": "dTHTYv7CBSIwp9l1pTBs5HKoiW8eikw+QJeBHKZeLaU58n/oHiJw6mEDtQtv5GcWnZf94wNCOuqZUg==",
            "d": "AI8lhvLGSd44sv+n3Df0kXyTIluddC3B0H559lSENYI3MghkqpIAesvVfHxfiDduejMdYtsEx6Ikj/0wNlUBAl3Ikr56GWrHJj5mOrir",
        },
        "base_objective": {
            "a": "y0EUnjc1k0WxAuFsJmfsEAB0yUAWkZLBEVdUa1DCFu9EltKChqsiGMt3UebPSdGWzAlI0ed7zowZXXyfsBpoE67A9ufIhlVxTUtHQa79qC5Ch72/CQsyUi6MGq3PWZsqiljOHUTr8wJ0z2zqduNkrLI=",
            "b": "9dmhWagHVFlhoCFiC0lLC/6+OJxK+mBDTr4hd/VpPzF/MhjnKAtHls/4Ed8Oqt4Wrl5g+UZzjM0ubt7aF1hu3pj2QQ==",
            "c": "QuSO4S3F9xuw8ntn496otACT0Up+AdQfAKUW6nL9+2i20QwAY5goEyGMwiARwwZsv9f43TX1HqD2Bxt5C2pOnqIkimWKNyr2c6pDLRCPfq2pl8byDwCQWR3KCN7MpwnuOa49",
            "d": "htj8z5AZYxVEw9p1mhv+o0bpIlhLJXQtvgRSztTXSCoJNX6CcLEU6Wnk/s/eVqtLwbhcIoJdsrk=",
        },
        "mesa_objective": {
            "a": "WtKPtIiJTCNuXLTiNgdMcImEgrctPyP+ZeQ5D+mbeOmR+8WG8Y/2CENsNgasjED+iJbbXvaKqm3Z1y43efM+FpjWxAG3BPHQDC2utsAOHZWm+2c6Ypv1wHOQ/wSAiWAu6Y64Gzj/a3vi",
            "b": "dVuP69Iul55MlH57yokKY6QJhNBEH6BXgaW6BU+PXY62U4slNMGp64wJAQ8WIO8iwxXMYqt5QEWaZAPIykkFEc7lEIR84Fc=",
            "c": "s+D7Frtf0U18qH1u0BLDfMbRKYLzTVfvrsA12CgxTi76qSe0KwlkH54pldMd0kU8ZhjxSPyM440X/ekQLOcmnVfcLLu6N5R5y5pmTGhMdr/HBcBS/qjLww==",
            "d": "5w4NGWWXfhwSYSbqqCRvmPpf9T7f9+NwpTW41bc9OVhfdEuefcwHkiTC9GaIwabZGRQ5uLVvPh0WMldU6rvwzsaF4Tu5Y4yr5oNoxh0Eng==",
        },
    },
    "coinrun": {
        "base_optimizer": {
            "a": "ovd75lcxgJMtojWnz4pE5p0i9kerRJJbiAOgzazcBUySfOpGjrlGoYpxV9HeFImxcQieSK2ySzGBF9MLT+zDiuRD+51qimtYNHe8",
            "b": "48LMjxzLjdAV3yoErs7uFmJmQF+PdHCs+gw3zdWTx5zJvyqxklM1j8G/L/BONTjXZ9+15heZy0BX6mwb1gxDpDu9lLNMaA1kyVnnWMcyltYVWCEwJQ==",
            "c": "jIM/7CRdDF8tqVi+kQyP18Y1NTjbfA5lHbPuWVkhr9QhLwhiF+U78gVAxmaqCbiyeZsl5n6jJYAdoCFuxP31yB+K1AiMAQRvPWcZSGMG",
            "d": "EokZSB/n5O0x7NbvyJ9r1yBHqlJhTg14xK1fUUQ9uUqBg1e5ePCu/48zVQjrX/ZZNbRm3l9c2Q==",
        },
        "base_objective": {
            "a": "LSVhWaAXQNk85YWJU0VyFDCO6t9xnhnFFT2a4RX0uCgjPsz0KyifaIE/2OY+Y+9AMX2iNHJt/eKjK2HvcdWooMdmBr4lRkCxC6KA09CkmPjt5xu2kw==",
            "b": "bZrM3adMQsRsAyk5x/J6N69FHndvQfA9L2Z0+UyqMzgKL8VLWQ==",
            "c": "4ZFNHwEHOaX7AIhY9GAuw8z+Qk4j+FGS65ZV2zrkW3fOQJgJ+9ceJfPPspj0L4b7aYQfvptNAykWW3oo7B6TvNndLQ==",
            "d": "Q4ElVhOeCVr5GapeqCfJ2dZr6o7Z34lWY56aOOZtnCOyEgHs50JZEXFinMc2wSu+j4K3rxqEsRQ6NkSsUGxDyFTHuwM=",
        },
        "mesa_objective": {
            "a": "x7SbvdX+DQg92smARefM8b2PqBjQs9cjlH2hu/mM52haobHBnM8meH9wsftH/FEsAUNKlFI3OQLe5UaGsnKVzbKgfE/T06WkhKP48MDj",
            "b": "88nCwKK00lSFkRUvEDqNvR7T47X+LQt0gqIPnW1vuSl9bLT1oo2889rsfftb6K+c/SamW4TqBVBltkc/holeKV2stxs1Sl41ZlPC7pzcULHgerA5YV0c3fu6",
            "c": "KL/6TCt1ktUzF3Jf/UxOqEqpmIQIj1PdM6tDUcfpDRjUpKmPhq3dyzBkI3gfwRhw9QCdVHA8sl7J28pyVmh2dfq7ycFSvSWTaA8DKZ9dNy0jrjltGkI3gOo4L+AN7fOrSlDAxLMc5PJhQMsO",
            "d": "96HcnKv+BCJvReVvsP9mJf8NMjpHfOpzlN/OmaUdpeeYd1zBe+HTZdOvjsJkM8kRMoud4IfLQYBQMzMl2hjXSCq6cEHFQjN/2JK6u7vYLBtELM1yoe9mqrkY+8jgj/vReO4C/3cC",
        },
    },
    "spam": {
        "base_optimizer": {
            "a": "/Eg8/Q6LS8mSp52FnRT/PUic6rb9I0io4p+h3cYOpu2WHBf9aNZ85VOVZC6RTlbDPegkodJQhkUGD4OuU0UESEL1U+rzNqKKHB7tCtU9Cg3lYG4grMJB",
            "b": "+zI/pistJTy4YziP1MhtAEX/uR6O8eKEF3t4c7wk/NH7NQ4LcZh+SI7jNLkagIRMwLdWYICfqv3eeDtqKOR4SkA=",
            "c": "BRBla4bw3cV91ylImX1MhZcwuPGflhAwLjNPb43GOSZmPvRfp4f2S/1AuDQ9/mgtxz3zCS+5aJPBtoDImYhDlXnJ7oo/qdQnEAgP7q62DsgWNiMYe02WBayjLybO5wNm2BndUlw=",
            "d": "+YDy4h7IPwoRXmhe11FnsPo5si1qpuYHOicaGEvmhcpbPSKNNv83OKaN8euVC0rhzQ==",
        },
        "base_objective": {
            "a": "DtB1jCIurZN2lLgfG2hEreya43OCJoJA0qDftB84zx4x4WXLQAEYn41rJckE0ttxRMCNr59ygr8KnvA=",
            "b": "yhZDEcvTQWj6rRnhR7UPEK0LR0OogxlBmmXDuJYN6aqPHmf95wBHvnvV30h9QY7p/qdtOHGXjwLN6m+9nq62RlNGIA==",
            "c": "tE/T0X1YO0cTrEZ5Ye5RGrTxH1jHvbcEkDiPiOIintJmRzx/+G7xPy7W7Zk/JDSqg4W4GgkFisCMiEB6WhUoqqU6bKREMSRfQgU/",
            "d": "jCXR6aIx8bSjCMRCVrU0H7e4K1F1JXLyvEuEWsa3xzO1r9oh8A==",
        },
        "mesa_objective": {
            "a": "sXuhI7n6c6rHoW7f/ksUOJu9NHUrd3OA2YlG2M3FlGeAcQ9O24LpdK71vDdhuDQ/Z/GeKpYJCyASraGMokhzceuRTz39tmJHD4hVAwKzVOcYch74781l",
            "b": "OD/gFh7+sTiv0Yavc5mGP9yJTdSvOQbQsPwtflkVTil1qylXJHgEowyS1jB/guHfLYuOyngHcLOg/oB33dpPV9Di67e2KtINtKcff+5D0YRWWUxiJgcwNgl5Cr0bJoe4ORI=",
            "c": "CpgKhsOeEeuKBj5DHdgk+UocYlD9t2x+64Y0HpNzzsyFRr5o7XHpWcsn5eW0/v7/SNwR9FlKiMcI/nWbq+VMwC8=",
            "d": "i7m1gn5gneEAbNbRuv64gXZ9Mu7H1ovAcZxXSHnncHr/UyjYI+AL+10wIF2Q7j/N92Lxj5DfVv3bhQfqWG1ScoQIdX97djDU9HTGGBNsUprDDLO+DPHKAPzxFUZY7HmcknG8B0efru0wOjV4SQ==",
        },
    },
}
