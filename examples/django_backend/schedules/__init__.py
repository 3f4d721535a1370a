"""Children and their weekly schedules, written by BrightPath (the seed plan's ``Child`` and ``Schedule``)."""
