"""Reports, one per uploaded dump: accepting an upload (``ingest``), listing them a page at a
time (``queries``), the stored dump as a plain HPROF under the size limit (``decompress``) and
as a file other tools open (``download``), ProGuard/R8 mappings per app version (``mappings``),
and the dominator tree an analysis keeps beside its report (``dominator_tree``, the file;
``dominator_levels``, one level of it as the API and the explorer show it).

It imports only ``core`` of the server."""
