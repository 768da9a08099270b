"""Facts → pages and files: views and narrative (what the reports say), output formats, notebook
display helpers and the report builder (papermill + nbconvert)."""
