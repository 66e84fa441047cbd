"""The pages a German public body must have on its site: Impressum, Datenschutzerklärung and
Erklärung zur Barrierefreiheit (BITV 2.0). The operator writes their text; the app shows it."""
