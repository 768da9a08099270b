"""What each value of a chart does, above the analysis: provenance (which keys control a failing
field), value sets compared (`compare_values`), and proven suggestions (`suggest`)."""
