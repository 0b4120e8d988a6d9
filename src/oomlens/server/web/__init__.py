"""The dashboard: server-rendered pages (Jinja2, autoescaped), htmx for the parts that load on
demand, uPlot for charts; everything served by ``oomlens serve`` from this package, nothing from
the network."""
