"""Server configuration: environment variables with embedded defaults.

With nothing set, everything lives in one data folder (``./oomlens-data``): a SQLite database,
the uploaded dumps, and a local process pool for analyses. At scale the same code runs with
``OOMLENS_DATABASE_URL`` (PostgreSQL), ``OOMLENS_STORAGE_URL`` (any fsspec URL, e.g. s3://) and
``OOMLENS_BROKER_URL`` (Celery over Redis or RabbitMQ) pointing elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from oomlens.errors import OomlensError

MB = 1 << 20


@dataclass(frozen=True)
class ServerSettings:
    data_dir: Path
    scratch_dir: Path  # job folders (decompressed dumps, downloads); see scratch.py
    database_url: str
    storage_url: str
    broker_url: str | None  # None: the embedded job runner
    broker_queue: str  # the Celery queue analyses go to (several deployments may share a broker)
    max_upload_bytes: int  # as sent (compressed)
    max_hprof_bytes: int  # decompressed: the decompression-bomb guard
    analysis_workers: int
    analysis_time_limit_s: int
    analysis_memory_limit_bytes: int
    max_attempts: int  # then the job is dead (shown on the dashboard)
    lease_seconds: int  # a claimed job whose runner stops renewing it is claimed again after this
    retry_backoff_s: int  # a broken analysis waits this long, doubled per attempt, to be retried
    redispatch_s: int  # Celery mode: a task the broker may have lost is sent again after this
    webhook_backoff_s: int  # a failed webhook delivery waits this x 1, 3, 12, 60, 360

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, data_dir: str | None = None
                 ) -> ServerSettings:
        env = dict(os.environ if env is None else env)
        folder = Path(data_dir or env.get("OOMLENS_DATA_DIR", "oomlens-data")).resolve()
        return cls(
            data_dir=folder,
            scratch_dir=Path(env.get("OOMLENS_SCRATCH_DIR") or folder / "scratch").resolve(),
            database_url=env.get("OOMLENS_DATABASE_URL", f"sqlite:///{folder / 'oomlens.db'}"),
            storage_url=env.get("OOMLENS_STORAGE_URL", (folder / "dumps").as_uri()),
            broker_url=env.get("OOMLENS_BROKER_URL") or None,
            broker_queue=env.get("OOMLENS_BROKER_QUEUE") or "oomlens-analysis",
            max_upload_bytes=_int(env, "OOMLENS_MAX_UPLOAD_MB", 1024) * MB,
            max_hprof_bytes=_int(env, "OOMLENS_MAX_HPROF_MB", 4096) * MB,
            analysis_workers=_int(env, "OOMLENS_ANALYSIS_WORKERS", 1),
            analysis_time_limit_s=_int(env, "OOMLENS_ANALYSIS_TIME_LIMIT_S", 1800),
            analysis_memory_limit_bytes=_int(env, "OOMLENS_ANALYSIS_MEMORY_MB", 8192) * MB,
            max_attempts=_int(env, "OOMLENS_MAX_ATTEMPTS", 3),
            lease_seconds=_int(env, "OOMLENS_LEASE_S", 30),
            retry_backoff_s=_int(env, "OOMLENS_RETRY_BACKOFF_S", 30),
            redispatch_s=_int(env, "OOMLENS_REDISPATCH_S", 3600),
            webhook_backoff_s=_int(env, "OOMLENS_WEBHOOK_BACKOFF_S", 10),
        )


    def to_env(self) -> dict[str, str]:
        """These settings as the environment variables that give them (for child processes)."""
        env = {"OOMLENS_DATA_DIR": str(self.data_dir),
               "OOMLENS_SCRATCH_DIR": str(self.scratch_dir),
               "OOMLENS_DATABASE_URL": self.database_url,
               "OOMLENS_STORAGE_URL": self.storage_url,
               "OOMLENS_BROKER_QUEUE": self.broker_queue,
               "OOMLENS_MAX_UPLOAD_MB": str(self.max_upload_bytes // MB),
               "OOMLENS_MAX_HPROF_MB": str(self.max_hprof_bytes // MB),
               "OOMLENS_ANALYSIS_WORKERS": str(self.analysis_workers),
               "OOMLENS_ANALYSIS_TIME_LIMIT_S": str(self.analysis_time_limit_s),
               "OOMLENS_ANALYSIS_MEMORY_MB": str(self.analysis_memory_limit_bytes // MB),
               "OOMLENS_MAX_ATTEMPTS": str(self.max_attempts),
               "OOMLENS_LEASE_S": str(self.lease_seconds),
               "OOMLENS_RETRY_BACKOFF_S": str(self.retry_backoff_s),
               "OOMLENS_REDISPATCH_S": str(self.redispatch_s),
               "OOMLENS_WEBHOOK_BACKOFF_S": str(self.webhook_backoff_s)}
        if self.broker_url:
            env["OOMLENS_BROKER_URL"] = self.broker_url
        return env


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise OomlensError(f"{name}={raw!r}: expected a whole number") from None
    if value <= 0:
        raise OomlensError(f"{name}={raw!r}: must be positive")
    return value
