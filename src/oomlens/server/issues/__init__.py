"""Issues: the findings of many reports folded by signature (``fold``), the numbers kept on
each issue's row (``counters``) and per UTC day (``trends``), app versions in their order
(``versions``), owners (``ownership``: the CODEOWNERS-style file; ``owners``: who owns an issue),
where an issue was seen (``breakdown``), its status (``status``), and the lists and details the
API and the dashboard show (``queries``).

It imports ``core`` and ``reports`` of the server."""
