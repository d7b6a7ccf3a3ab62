"""Reports: the self-contained HTML report and the CSV/XLSX tables that go with it."""
