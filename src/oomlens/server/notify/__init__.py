"""Notifications: a project's webhooks hear of new issues, regressions and spikes.

Events go into an outbox (the ``notifications`` table) in the same transaction that folds a
report into issues (``outbox``), so an event is never lost and never sent for a fold that rolled
back; the ``Notifier`` thread of every server delivers them (``delivery``), signed and shaped for
generic JSON receivers, Slack or Lark/Feishu (``payloads``), retrying with backoff. Ingestion never
waits on any of it.
"""
