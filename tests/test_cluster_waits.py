"""Bounded waits on clusters: a silent or non-Dask scheduler, a stop while connecting, futures that never end."""

import socket
import threading
from concurrent.futures import Executor, Future

import pytest

from toolkit import PUBLISHED, TrainConfig
from toolkit.cli import main
from toolkit.errors import ToolkitError
from toolkit.evaluate import EvalSpec, evaluate_all
from toolkit.events import StopSignal
from toolkit.executors import CONNECT_TIMEOUT, DaskExecutor, connect_timeout, make_executor

pytest.importorskip("distributed")


@pytest.fixture
def listener():
    """Start a TCP listener on 127.0.0.1 that accepts and stays silent (``reply`` None) or answers every
    connection with ``reply`` at once; returns its tcp:// address."""
    sockets = []

    def start(reply: bytes | None = None) -> str:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        sockets.append(server)

        def serve():
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                sockets.append(conn)
                if reply is not None:
                    conn.sendall(reply)

        threading.Thread(target=serve, daemon=True).start()
        return f"tcp://127.0.0.1:{server.getsockname()[1]}"

    yield start
    for s in sockets:
        s.close()


HTTP = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def test_a_silent_scheduler_fails_within_the_deadline(listener):
    address = listener()
    with pytest.raises(ToolkitError, match=f"the Dask scheduler at '{address}' did not answer within 1 s; "
                                           "check the address and port.*--connect-timeout"):
        with make_executor("dask", scheduler=address, timeout=1):
            pass


def test_an_http_server_is_named_as_not_a_dask_scheduler(listener):
    address = listener(HTTP)
    with pytest.raises(ToolkitError, match=f"'{address}' answered, but not as a Dask scheduler"):
        with make_executor("dask", scheduler=address, timeout=20):
            pass


def test_a_stop_ends_the_wait_for_the_scheduler(listener):
    stop = StopSignal()
    threading.Timer(0.5, stop.stop).start()
    with pytest.raises(ToolkitError, match="stopped while connecting to the Dask scheduler"):
        with make_executor("dask", scheduler=listener(), timeout=600, stop=stop):
            pass


@pytest.mark.parametrize("reply, message", [(None, "did not answer within 1 s"),
                                            (HTTP, "answered, but not as a Dask scheduler")])
def test_cli_gives_one_line_without_traceback(listener, capsys, monkeypatch, tmp_path, reply, message):
    address = listener(reply)
    code = main(["evaluate", "DARTS_V2", "--quiet", "--epochs", "1", "--executor", "dask", "--scheduler", address,
                 "--connect-timeout", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and message in err and err.count("\n") == 1, err
    monkeypatch.setenv("NAS_TOOLKIT_CONNECT_TIMEOUT", "1")  # the environment variable, through search me-darts
    code = main(["search", "me-darts", "--preset", "cpu-small", "--quiet", "--executor", "dask", "--scheduler",
                 address, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert not (tmp_path / "run").exists()


def test_the_deadline_comes_from_the_argument_the_environment_or_the_default(monkeypatch):
    monkeypatch.delenv("NAS_TOOLKIT_CONNECT_TIMEOUT", raising=False)
    assert connect_timeout() == CONNECT_TIMEOUT == 30
    monkeypatch.setenv("NAS_TOOLKIT_CONNECT_TIMEOUT", "2.5")
    assert connect_timeout() == 2.5 and connect_timeout(7) == 7
    for bad in ("soon", "0", "-1", "inf"):
        monkeypatch.setenv("NAS_TOOLKIT_CONNECT_TIMEOUT", bad)
        with pytest.raises(ToolkitError, match="NAS_TOOLKIT_CONNECT_TIMEOUT must be a positive number"):
            connect_timeout()
    with pytest.raises(ToolkitError, match="timeout must be a positive number"):
        make_executor("local", timeout=0).__enter__()
    assert main(["evaluate", "DARTS_V2", "--connect-timeout", "3"]) == 2  # without --scheduler: refused


class NeverEnds(Executor):
    """An executor whose candidates never complete (a lost worker nobody reports)."""

    def __init__(self, check=None):
        self.checks = 0
        self.fail = check

    def submit(self, fn, /, *args, **kwargs) -> Future:
        return Future()

    def check(self):
        self.checks += 1
        if self.fail is not None:
            raise self.fail


SPECS = [EvalSpec(PUBLISHED["DARTS_V2"], TrainConfig(epochs=1, channels=4, cells=3), name=n) for n in "ab"]


def test_a_stop_breaks_the_wait_for_candidates_that_never_complete():
    stop = StopSignal()
    threading.Timer(0.5, stop.stop).start()
    assert evaluate_all(SPECS, NeverEnds(), stop=stop) == [None, None]


def test_a_cluster_without_workers_is_an_error_not_a_wait_for_ever():
    with pytest.raises(ToolkitError, match="no worker"):
        evaluate_all(SPECS, NeverEnds(ToolkitError("the Dask cluster has had no worker for 0 s")))

    class Client:
        scheduler = type("Rpc", (), {"address": "tcp://h:8786"})()
        workers = {"w": {}}

        def get_executor(self, pure):
            return None

        def scheduler_info(self):
            return {"workers": self.workers}

    client = Client()
    executor = DaskExecutor(client, grace=0)
    executor.check()  # a worker: fine
    client.workers = {}
    with pytest.raises(ToolkitError, match="'tcp://h:8786' has had no worker for 0 s.*dask worker tcp://h:8786"):
        executor.check()
