"""Real-browser tests: every lesson run in JupyterLab in headless Chromium (see conftest.py)."""
