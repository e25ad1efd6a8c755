"""HTML pages (login, maps). Every module here that defines ``router`` is mounted by the app."""
