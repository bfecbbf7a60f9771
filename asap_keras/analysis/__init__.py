"""The analysis of finished searches (Sec. 4.5): run files in, figures and tables out."""
