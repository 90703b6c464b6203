"""The Dockerfile and .dockerignore, read as text: no Docker engine exists here or in CI.

Nothing builds the image. These checks hold the properties the Kubernetes manifests rely on
(deploy/k8s: uid 10001, read-only root filesystem with the data directory as a volume, the
model baked in, nothing fetched at start); tests/deploy/test_compose.py checks the rest (base
image, the pip install of the project, the healthcheck, the CMD).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from streams.settings import Settings
from tests.conftest import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"

UID = 10001
"""The image's user, which deploy/k8s runs as (runAsUser, runAsGroup, fsGroup)."""


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), " ".join(rest.split())))
    return result


def image_env(steps: list[tuple[str, str]]) -> dict[str, str]:
    """Variables set by ENV (`ENV A=1 B=2` form)."""
    env: dict[str, str] = {}
    for keyword, args in steps:
        if keyword == "ENV":
            for word in shlex.split(args):
                name, _, value = word.partition("=")
                env[name] = value
    return env


def check_user_is_numeric_and_unprivileged(text: str) -> None:
    """The last USER is the numeric uid:gid 10001 (runAsNonRoot can verify a number only)."""
    users = [args for keyword, args in instructions(text) if keyword == "USER"]
    assert users, "no USER: the container would run as root"
    assert users[-1] == f"{UID}:{UID}", users[-1]


def check_data_directory_belongs_to_the_user(text: str) -> None:
    """STREAMS_WORKER__DATA_DIR exists in the image and the user owns it (an empty volume
    mounted there on Kubernetes takes fsGroup; docker run without a volume writes here)."""
    steps = instructions(text)
    data_dir = image_env(steps).get("STREAMS_WORKER__DATA_DIR")
    assert data_dir, "the image sets no STREAMS_WORKER__DATA_DIR"
    runs = " && ".join(args for keyword, args in steps if keyword == "RUN")
    made = re.findall(r"mkdir -p (\S+)", runs)
    assert any(Path(data_dir) == Path(m) or Path(m) in Path(data_dir).parents for m in made), made
    owned = re.findall(rf"chown (?:-R )?{UID}:{UID} (\S+)", runs)
    assert any(Path(o) == Path(data_dir) or Path(o) in Path(data_dir).parents for o in owned), (
        f"{data_dir} is not chowned to {UID}:{UID}"
    )
    user = next(i for i, (k, _) in enumerate(steps) if k == "USER")
    assert all(i < user for i, (k, a) in enumerate(steps) if k == "RUN" and "chown" in a)


def check_model_loads_at_build_time(text: str) -> None:
    """A RUN step loads the configured spaCy model, so a missing model fails the build."""
    model_step = [
        args for keyword, args in instructions(text) if keyword == "RUN" and "spacy.load(" in args
    ]
    assert model_step, "no RUN step loads the spaCy model"
    step = model_step[0]
    assert "Settings().core.spacy_model" in step or Settings().core.spacy_model in step, step


def check_nothing_is_fetched_at_start(text: str) -> None:
    """No ENTRYPOINT script and a CMD that starts the worker, not an installer."""
    steps = instructions(text)
    assert not [k for k, _ in steps if k == "ENTRYPOINT"]
    [cmd] = [args for keyword, args in steps if keyword == "CMD"]
    assert cmd == '["streams", "worker"]'
    for keyword, args in steps:
        if keyword == "RUN":
            continue
        for fetch in ("pip install", "spacy download", "curl", "wget"):
            assert fetch not in args, f"{keyword} {args}"


def check_no_pip_cache_and_no_bytecode_writes(text: str) -> None:
    """pip keeps no cache in a layer, and Python writes no .pyc at run time (read-only root)."""
    env = image_env(instructions(text))
    assert env.get("PIP_NO_CACHE_DIR") == "1"
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1"


CHECKS = {
    "user_is_numeric_and_unprivileged": check_user_is_numeric_and_unprivileged,
    "data_directory_belongs_to_the_user": check_data_directory_belongs_to_the_user,
    "model_loads_at_build_time": check_model_loads_at_build_time,
    "nothing_is_fetched_at_start": check_nothing_is_fetched_at_start,
    "no_pip_cache_and_no_bytecode_writes": check_no_pip_cache_and_no_bytecode_writes,
}


@pytest.mark.parametrize("check", list(CHECKS))
def test_dockerfile(check: str) -> None:
    CHECKS[check](DOCKERFILE.read_text(encoding="utf-8"))


BROKEN = [
    ("user_is_numeric_and_unprivileged", "USER 10001:10001", "USER streams"),
    ("user_is_numeric_and_unprivileged", "USER 10001:10001", "USER 0:0"),
    ("data_directory_belongs_to_the_user", "chown -R 10001:10001 /var/lib/streams", "true"),
    (
        "data_directory_belongs_to_the_user",
        "ENV STREAMS_WORKER__DATA_DIR=/var/lib/streams/data",
        "ENV STREAMS_WORKER__DATA_DIR=/data",
    ),
    ("model_loads_at_build_time", "spacy.load(", "spacy.blank("),
    (
        "nothing_is_fetched_at_start",
        'CMD ["streams", "worker"]',
        'CMD ["sh", "-c", "pip install x"]',
    ),
    ("no_pip_cache_and_no_bytecode_writes", "PIP_NO_CACHE_DIR=1", "PIP_NO_CACHE_DIR=0"),
    (
        "no_pip_cache_and_no_bytecode_writes",
        "PYTHONDONTWRITEBYTECODE=1",
        "PYTHONDONTWRITEBYTECODE=",
    ),
]


@pytest.mark.parametrize(("check", "old", "new"), BROKEN)
def test_check_catches_a_broken_dockerfile(check: str, old: str, new: str) -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is no longer in the Dockerfile: update this case"
    with pytest.raises(AssertionError):
        CHECKS[check](text.replace(old, new))


def test_dockerignore_leaves_out_what_the_image_does_not_need() -> None:
    """The build context is an allow-list: pyproject.toml, README.md, streams/ and no more
    (deploy/, tests/, benchmarks/, .git, .venv and local state never reach the builder)."""
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert lines[0] == "*", "the first pattern must exclude everything"
    allowed = {line.removeprefix("!").strip("/") for line in lines if line.startswith("!")}
    copied = {
        source
        for keyword, args in instructions(DOCKERFILE.read_text(encoding="utf-8"))
        if keyword == "COPY"
        for source in args.split()[:-1]
        if not source.startswith("--")
    }
    assert allowed == copied, f".dockerignore lets in {allowed}, the Dockerfile copies {copied}"
