"""Running analyses: one analysis of one report (``analyse``: fetch the dump, analyse it, keep
the document and the dominator tree, fold the findings into issues, queue the notifications),
in a child process under a memory ceiling and a time limit (``sandbox``; the child runs
``child_main``), started by the embedded runner of ``oomlens serve`` (``local_runner``) or by
``oomlens worker``s fed by Celery (``celery_mode``). The queue itself is the reports table
(``core.queue``): both modes claim from it.

It sits above ``core``, ``reports``, ``issues`` and ``notify``, since an analysis ends in all
of them."""
