"""Writers of run results: JSON (results.py), JUnit XML, and the HTML compatibility report."""
