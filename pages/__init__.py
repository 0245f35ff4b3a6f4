"""The explorer's pages, one thin module per page, each with ``main()`` (widgets and typed calls only; data from
:mod:`app.data`, files from :mod:`app.files`, model calls through :mod:`app.cache`). Registered in
:mod:`app.navigation`."""
