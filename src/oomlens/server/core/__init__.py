"""What the rest of the server stands on: its configuration (``config``), the database
(``db``, ``models``, the Alembic ``migrations``), blob storage (``storage``), project keys
(``keys``), the FastAPI dependencies every endpoint takes (``deps``), the upload size guard
(``limits``), one-line 422 answers (``validation``), background threads (``polling``), job
folders (``scratch``, ``workdir``) and the durable job queue, which is the reports table
(``queue``).

It imports nothing else of the server."""
