"""`hiveish history-server`: the job history archive in a browser (standard library `http.server`).

Pages: `/` every kept job, newest first; `/job/<job id>` one job (stages of its statement,
counters, task summary, timeline of attempts per worker, attempts). `/api/jobs` and
`/api/job/<job id>` give the same as JSON. The archive is read on every request, so jobs
that other processes run appear on reload.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Sequence
from urllib.parse import unquote, urlsplit

from hiveish.history.archive import JobArchive, archive_path
from hiveish.history.page import job_page, jobs_page, message_page

__all__ = ["HistoryServer", "main"]

DEFAULT_PORT = 19888  # Hadoop's JobHistory web UI port
LIST_LIMIT = 1000


class HistoryServer(ThreadingHTTPServer):
    """Serves the archive at `path` (opened when it exists; a missing archive lists no jobs)."""

    daemon_threads = True

    def __init__(self, path: str, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
        self.path = path
        self._archive: JobArchive | None = None
        self._lock = threading.Lock()
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def archive(self) -> JobArchive | None:
        with self._lock:
            if self._archive is None and os.path.exists(self.path):
                self._archive = JobArchive(self.path)
            return self._archive

    def server_close(self) -> None:
        super().server_close()
        with self._lock:
            if self._archive is not None:
                self._archive.close()
                self._archive = None


class _Handler(BaseHTTPRequestHandler):
    server: HistoryServer
    server_version = "hiveish-history"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = unquote(urlsplit(self.path).path)
        archive = self.server.archive()
        try:
            if path in ("/", "/jobs"):
                jobs = archive.jobs(LIST_LIMIT, newest_first=True) if archive else []
                return self._send(200, jobs_page(jobs, self.server.path))
            if path == "/api/jobs":
                jobs = archive.jobs(LIST_LIMIT, newest_first=True) if archive else []
                return self._send(200, json.dumps([asdict(j) for j in jobs]), "application/json")
            for prefix, api in (("/job/", False), ("/api/job/", True)):
                if path.startswith(prefix):
                    job_id = path[len(prefix):].strip("/")
                    job = archive.job(job_id) if archive else None
                    if job is None:
                        if api:
                            return self._send(404, json.dumps({"error": f"Job not found: {job_id}"}),
                                              "application/json")
                        return self._send(404, message_page("Job not found", f"No job {job_id} in {self.server.path}"))
                    if api:
                        return self._send(200, json.dumps(asdict(job)), "application/json")
                    return self._send(200, job_page(job, archive.query_jobs(job.query_id) or [job]))  # type: ignore[union-attr]
            return self._send(404, message_page("Not found", f"No page {path}"))
        except Exception as e:  # noqa: BLE001 - e.g. the archive is locked or damaged: say so in the page
            return self._send(500, message_page("Cannot read the job history", f"{self.server.path}: {e}"))

    def _send(self, code: int, body: str, kind: str = "text/html; charset=utf-8") -> None:
        data = body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's signature
        pass  # no access log on stderr


def main(argv: Sequence[str]) -> int:
    """`hiveish history-server [--port N] [--host H] [--metastore FILE]`: serve until Ctrl-C."""
    from hiveish.session import default_home

    ap = argparse.ArgumentParser(prog="hiveish history-server",
                                 description="Serve the MapReduce job history archive in a browser.")
    ap.add_argument("--metastore", default=os.path.join(default_home(), "metastore.db"),
                    help="the metastore whose archive (<metastore>.history) to serve")
    ap.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free one)")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    try:
        args = ap.parse_args(list(argv))
    except SystemExit as e:
        return int(e.code or 0) and 1
    path = archive_path(args.metastore)
    if path is None:
        sys.stderr.write("hiveish history-server: an in-memory metastore keeps no job history\n")
        return 1
    try:
        server = HistoryServer(path, args.host, args.port)
    except OSError as e:
        sys.stderr.write(f"hiveish history-server: cannot listen on {args.host}:{args.port}: {e.strerror or e}\n")
        return 1
    print(f"Job history server at {server.url} (archive {path}); Ctrl-C stops it", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
