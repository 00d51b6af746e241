"""nbgrader configuration of the course (plain `nbgrader` commands and `mesakit` both read it).

solutions/ is the instructor source, lessons/ the student release (`mesakit release`),
submitted/ and autograded/ are where plain nbgrader collects and grades.
"""

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "mesakit"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "lessons"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "__pycache__", "*.pyc"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# Lessons train small models: give each cell time, but not forever.
c.ExecutePreprocessor.timeout = 300

# Worked solutions in the lessons' "Solution" dropdowns stay in solutions/: the release points there.
from nbgrader.converters import GenerateAssignment  # noqa: E402

from mesakit.handout import HideWorkedSolutions  # noqa: E402

c.GenerateAssignment.preprocessors = [
    HideWorkedSolutions,
    *GenerateAssignment.class_traits()["preprocessors"].default(),
]
