"""A container's files without running anything in it: the archive API
(`HEAD`/`GET /containers/{id}/archive`), read no further than needed.

`ContainerFiles` is a part of `Engine` (its base class): stat a path, read a small file, the
head of one (an ELF header), a symlink's own text. Podman's path stat is put in Docker's
terms here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from dhitui.engine.failures import EngineError, unavailable

if TYPE_CHECKING:
    from dhitui.engine.endpoint import Endpoint
    from dhitui.engine.identity import EngineIdentity

# Go's os.FileMode type bits, as the path stat header (`stat_path`) carries them.
GO_MODE_DIR = 1 << 31
GO_MODE_SYMLINK = 1 << 27


class ContainerFiles:
    """The archive reads of `Engine` (which provides what is declared here)."""

    if TYPE_CHECKING:
        api: Any
        endpoint: Endpoint
        identity: EngineIdentity

        def url(self, pathfmt: str, *args: str, versioned: bool = True) -> str: ...

    def stat_path(self, container: str, path: str) -> dict[str, Any] | None:
        """Stat a path inside a container without running anything in it:
        `HEAD /containers/{id}/archive?path=...`. Returns the decoded
        `X-Docker-Container-Path-Stat` ({name, size, mode, mtime, linkTarget}) or None when
        the path does not exist. Symlinks are not followed (see `linkTarget`). A missing
        container also answers 404: callers must know the container exists."""
        import base64
        import json

        url = self.url("/containers/{0}/archive", container)
        try:
            res = self.api.head(url, params={"path": path})
        except Exception as exc:
            raise unavailable(self.endpoint, exc) from None
        header = res.headers.get("X-Docker-Container-Path-Stat", "")
        podman = self.identity.is_podman
        if res.status_code == 404 and not (podman and header):
            return None
        if res.status_code not in (200, 404):
            raise EngineError(f"stat {path}: HTTP {res.status_code}", status=res.status_code)
        try:
            st = dict(json.loads(base64.b64decode(header)))
        except ValueError:
            raise EngineError(f"stat {path}: unreadable path stat header") from None
        return _podman_path_stat(path, st) if podman else st

    def _get_archive(self, container: str, path: str, chunk_size: int = 2 * 1024 * 1024
                     ) -> tuple[Iterator[bytes], dict[str, Any]] | None:
        """`GET /containers/{id}/archive`: (tar stream, path stat), or None for no such path."""
        import docker.errors

        try:
            stream, st = self.api.get_archive(container, path, chunk_size=chunk_size)
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as exc:
            raise EngineError(f"read {path}: {exc.explanation or exc}", status=exc.status_code
                              ) from None
        except Exception as exc:
            raise unavailable(self.endpoint, exc) from None
        return stream, dict(st)

    def read_file(self, container: str, path: str, limit: int = 1 << 20) -> bytes | None:
        """A small regular file from a container's filesystem (`GET .../archive`), or None
        if it does not exist. Files larger than `limit` are not read."""
        import io
        import tarfile

        got = self._get_archive(container, path)
        if got is None:
            return None
        stream, st = got
        if int(st.get("size", 0)) > limit:
            return None
        try:
            data = b"".join(stream)
        except Exception as exc:
            raise unavailable(self.endpoint, exc) from None
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
                for member in tar:
                    if member.isfile():
                        f = tar.extractfile(member)
                        return f.read(limit) if f else None
        except tarfile.TarError as exc:
            # Podman 4.3 answers 200 with an empty body for a container between restarts.
            raise EngineError(f"read {path}: the engine sent no readable archive ({exc})"
                              ) from None
        return None

    def _archive_head(self, container: str, path: str, limit: int) -> bytes | None:
        """At least the first `limit` bytes of the tar stream of `path` (less if it is
        shorter), without fetching the rest; None when the path does not exist."""
        got = self._get_archive(container, path, chunk_size=limit)
        if got is None:
            return None
        stream, _ = got
        buf = b""
        try:
            for chunk in stream:
                buf += chunk
                if len(buf) >= limit:
                    break
        except Exception as exc:
            raise unavailable(self.endpoint, exc) from None
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()
        return buf

    def read_link(self, container: str, path: str) -> str | None:
        """A symlink's own text (`busybox` for `bin/sh -> busybox`), from the tar header of
        `GET .../archive`; None when the path does not exist or is not a symlink. The path
        stat's `linkTarget` cannot tell this: the engine reports it fully resolved and
        absolute."""
        import io
        import tarfile

        # A link is one header, or a few with a long (PAX/GNU) name or target.
        buf = self._archive_head(container, path, 16 * 1024)
        if buf is None:
            return None
        try:
            with tarfile.open(fileobj=io.BytesIO(buf), mode="r:") as tar:
                member = tar.next()
        except tarfile.TarError:
            return None
        if member is None or not member.issym():
            return None
        return member.linkname

    def read_file_head(self, container: str, path: str, size: int = 4096) -> bytes | None:
        """The first `size` bytes of a regular file in a container (e.g. an ELF header), read
        from the start of the archive stream without fetching the rest; None if the path does
        not exist or is not a regular file."""
        import tarfile

        # One tar header (512 bytes) precedes the file's data.
        buf = self._archive_head(container, path, tarfile.BLOCKSIZE + size)
        if buf is None or len(buf) < tarfile.BLOCKSIZE:
            return None
        try:
            member = tarfile.TarInfo.frombuf(buf[: tarfile.BLOCKSIZE], "utf-8", "surrogateescape")
        except tarfile.TarError:
            return None
        if not member.isfile():
            return None
        return buf[tarfile.BLOCKSIZE : tarfile.BLOCKSIZE + min(size, member.size)]


def _podman_path_stat(path: str, st: dict[str, Any]) -> dict[str, Any]:
    """Podman's path stat in Docker's terms. Podman (4.x) lstat()s the path for `mode` and
    `size` but resolves it for the rest: `name` is the final file's, `linkTarget` is the
    fully resolved absolute path (for every path, links or not), and a dangling link answers
    404 with the header filled in. So: the requested name; no linkTarget unless it is a link;
    a dangling link is there. A link's target is its chain's end, absolute: the hops between
    (and whether they were relative) are not told."""
    import posixpath

    st = dict(st)
    st["name"] = posixpath.basename(path.rstrip("/")) or "/"
    if not int(st.get("mode", 0)) & GO_MODE_SYMLINK:
        st["linkTarget"] = ""
    st.pop("isDir", None)
    return st
