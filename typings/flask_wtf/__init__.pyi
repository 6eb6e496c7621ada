# Flask-WTF ships no type information; Hiroba uses only its CSRF protection (csrf.pyi).
