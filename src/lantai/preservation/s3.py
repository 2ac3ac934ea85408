"""An S3-compatible storage location (any server that speaks plain S3: PUT, GET, HEAD, multipart
upload, ListObjectsV2, checksums; no vendor admin APIs).

- Path-style addressing (`http://host:port/bucket/key`), so any endpoint works without DNS tricks.
- Bounded connect and read timeouts and a bounded number of attempts (botocore "standard" retries
  with backoff); anything that still fails (connection refused, timeouts, 5xx, throttling, refused
  credentials) is LocationUnavailable with a message naming the endpoint and the bucket; a missing
  key is ObjectMissing.
- Objects above `multipart_threshold` go up as a multipart upload in `part_size` parts. S3 shows an
  object only when CompleteMultipartUpload succeeds, so a write is atomic; on any failure the upload
  is aborted (best effort: a server that refuses the abort keeps invisible parts until a bucket
  lifecycle rule removes them).
- SHA-256 checksums travel with every PUT and part where the server acknowledges them, and every
  write is read back with HEAD: the stored size must match, and the stored checksum too where the
  server keeps one. A server without checksums (s3rver) is verified by size only.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import logging
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    ConnectTimeoutError,
    NoCredentialsError,
    ReadTimeoutError,
)

from lantai.preservation import storage as _storage
from lantai.preservation.storage import (
    Capacity,
    InvalidKey,
    LocationUnavailable,
    ObjectMissing,
    check_key,
)

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

__all__ = ["S3Location", "MiB"]

log = logging.getLogger(__name__)

MiB = 1 << 20
MIN_PART_SIZE = 5 * MiB  # S3's minimum for every part but the last
MAX_PARTS = 10_000
MAX_SINGLE_PUT = 5 * 1024 * MiB
BUCKET_CHECK_TTL = 60.0  # seconds a confirmed bucket counts as present when a HEAD says 404
VERIFY_RETRY_SECONDS = (0.25, 1.0)  # a mismatched read-back is read again after these waits

_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
_THROTTLING_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestTimeout",
    "ServiceUnavailable",
    "InternalError",
}
_ACCESS_CODES = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "AllAccessDisabled",
}
_CHECKSUM_REFUSED_CODES = {"NotImplemented", "InvalidArgument", "InvalidRequest"}


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _read_full(src: BinaryIO, n: int) -> bytes:
    """Up to `n` bytes, fewer only at end of file."""
    buf = bytearray()
    while len(buf) < n:
        try:
            chunk = src.read(n - len(buf))
        except BaseException as e:  # the source failed, not the location
            raise _SourceError() from e
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


_Page = list[tuple[str, int]]  # (full key, size) of one ListObjectsV2 page


class _SourceError(Exception):
    """Carries an error raised while reading a put_file() source (its __cause__)."""


class S3Location:
    """A bucket (and an optional key prefix inside it) on an S3-compatible endpoint."""

    def __init__(
        self,
        name: str,
        endpoint_url: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        prefix: str = "",
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_attempts: int = 4,
        multipart_threshold: int = 16 * MiB,
        part_size: int = 16 * MiB,
        checksums: bool = True,
        verify_writes: bool = True,
        list_page_size: int = 1000,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(
                f"分段大小至少 {MIN_PART_SIZE} 字节（S3 的下限），给出的是 {part_size}"
            )
        if not 1 <= multipart_threshold <= MAX_SINGLE_PUT:
            raise ValueError(f"分段上传阈值须在 1 到 {MAX_SINGLE_PUT} 字节之间")
        if max_attempts < 1:
            raise ValueError("max_attempts 至少为 1")
        self.name = name
        self.endpoint_url = endpoint_url.rstrip("/")
        self.bucket = bucket
        self.region = region
        self.prefix = check_key(prefix.strip("/")) if prefix.strip("/") else ""
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_attempts = max_attempts
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self.checksums = checksums  # switched off when the server refuses checksum headers
        self.verify_writes = verify_writes
        self.list_page_size = list_page_size  # MaxKeys of one ListObjectsV2 request
        self._bucket_seen_at: float | None = None
        config = Config(
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"total_max_attempts": max_attempts, "mode": "standard"},
            # Plain requests: only the checksums this class computes itself (SHA-256), in headers,
            # never botocore's default CRC32 trailers that older S3 servers do not parse.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            tcp_keepalive=True,
        )
        session = boto3.session.Session()
        self._client: S3Client = session.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=config,
        )

    @classmethod
    def from_env(
        cls,
        name: str,
        environ: Mapping[str, str] | None = None,
        var_prefix: str = "LANTAI_S3_",
        **options: Any,
    ) -> S3Location:
        """A location configured by environment variables: {var_prefix}ENDPOINT, BUCKET,
        ACCESS_KEY, SECRET_KEY (required), REGION, PREFIX, CONNECT_TIMEOUT, READ_TIMEOUT,
        MAX_ATTEMPTS (optional)."""
        env = os.environ if environ is None else environ

        def get(var: str, default: str | None = None) -> str:
            value = env.get(var_prefix + var, default)
            if value is None or value == "":
                raise ValueError(f"缺少环境变量 {var_prefix}{var}（S3 存储位置“{name}”）")
            return value

        for var, opt, conv in (
            ("CONNECT_TIMEOUT", "connect_timeout", float),
            ("READ_TIMEOUT", "read_timeout", float),
            ("MAX_ATTEMPTS", "max_attempts", int),
        ):
            if env.get(var_prefix + var):
                try:
                    options.setdefault(opt, conv(env[var_prefix + var]))
                except ValueError as e:
                    raise ValueError(f"环境变量 {var_prefix}{var} 不是数字") from e
        return cls(
            name,
            get("ENDPOINT"),
            get("BUCKET"),
            get("ACCESS_KEY"),
            get("SECRET_KEY"),
            region=get("REGION", "us-east-1"),
            prefix=env.get(var_prefix + "PREFIX", ""),
            **options,
        )

    def __repr__(self) -> str:
        return f"S3Location({self.name!r}, {self.endpoint_url!r}, {self.bucket!r}, prefix={self.prefix!r})"

    # --- errors ----------------------------------------------------------------------------

    @property
    def _where(self) -> str:
        return f"S3 存储位置“{self.name}”（端点 {self.endpoint_url}，存储桶 {self.bucket}）"

    def _map_error(self, e: Exception, action: str, key: str | None) -> OSError:
        where = self._where
        if isinstance(e, ClientError):
            err = e.response.get("Error", {})
            code = str(err.get("Code", ""))
            message = str(err.get("Message", ""))
            status = int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            if code == "NoSuchBucket":
                return LocationUnavailable(errno.ENOENT, f"{where}不可用：存储桶不存在（{action}）")
            if key is not None and (code in _MISSING_CODES or status == 404):
                return ObjectMissing(errno.ENOENT, f"对象不存在：{key}（{where}）")
            if status >= 500 or status == 429 or code in _THROTTLING_CODES:
                return LocationUnavailable(
                    errno.EIO,
                    f"{where}不可用：{action}失败，服务端返回 {status} {code}"
                    f"（已尝试 {self.max_attempts} 次）",
                )
            if status == 403 or code in _ACCESS_CODES:
                return LocationUnavailable(
                    errno.EACCES, f"{where}拒绝访问（{code}）：{action}失败，请检查访问密钥与权限"
                )
            return LocationUnavailable(
                errno.EIO, f"{where}{action}失败：{status} {code} {message}".rstrip()
            )
        if isinstance(e, ConnectTimeoutError | ReadTimeoutError):
            return LocationUnavailable(
                errno.ETIMEDOUT,
                f"{where}不可用：{action}超时（连接 {self.connect_timeout:g} 秒、"
                f"读取 {self.read_timeout:g} 秒，已尝试 {self.max_attempts} 次）",
            )
        if isinstance(e, ConnectionError):
            return LocationUnavailable(
                errno.ECONNREFUSED, f"{where}不可用：无法连接（{action}）：{e}"
            )
        if isinstance(e, NoCredentialsError):
            return LocationUnavailable(errno.EACCES, f"{where}未配置访问密钥")
        return LocationUnavailable(errno.EIO, f"{where}不可用：{action}失败：{e}")

    @contextmanager
    def _errors(self, action: str, key: str | None = None) -> Iterator[None]:
        try:
            yield
        except (ClientError, BotoCoreError) as e:
            raise self._map_error(e, action, key) from e

    def _unavailable(self, message: str) -> LocationUnavailable:
        return LocationUnavailable(errno.EIO, f"{self._where}{message}")

    # --- keys ------------------------------------------------------------------------------

    def _full(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _strip(self, full: str) -> str:
        return full[len(self.prefix) + 1 :] if self.prefix else full

    # --- setup -----------------------------------------------------------------------------

    def ensure_bucket(self) -> bool:
        """Create the bucket when it does not exist; True when it was created."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
            self._bucket_seen_at = time.monotonic()
            return False
        except ClientError as e:
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = str(e.response.get("Error", {}).get("Code", ""))
            if status != 404 and code not in ("404", "NoSuchBucket", "NotFound"):
                raise self._map_error(e, "检查存储桶", None) from e
        except BotoCoreError as e:
            raise self._map_error(e, "检查存储桶", None) from e
        with self._errors("创建存储桶"):
            try:
                if self.region == "us-east-1":
                    self._client.create_bucket(Bucket=self.bucket)
                else:
                    self._client.create_bucket(
                        Bucket=self.bucket,
                        CreateBucketConfiguration={"LocationConstraint": self.region},  # type: ignore[typeddict-item]
                    )
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                    raise
                return False
        self._bucket_seen_at = time.monotonic()
        return True

    def _check_bucket(self) -> None:
        """A HEAD answered 404: make sure that is the key, not a missing or misnamed bucket (a
        bucket gone must read as an unavailable location, never as every object missing)."""
        now = time.monotonic()
        if self._bucket_seen_at is not None and now - self._bucket_seen_at < BUCKET_CHECK_TTL:
            return
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as e:
            if e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                raise LocationUnavailable(errno.ENOENT, f"{self._where}不可用：存储桶不存在") from e
            raise self._map_error(e, "检查存储桶", None) from e
        except BotoCoreError as e:
            raise self._map_error(e, "检查存储桶", None) from e
        self._bucket_seen_at = now

    def incomplete_uploads(self) -> list[str]:
        """Keys of multipart uploads begun under this location and neither completed nor aborted
        (ListMultipartUploads; LocationUnavailable where the server does not implement it)."""
        keys: list[str] = []
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.prefix:
            kwargs["Prefix"] = self.prefix + "/"
        with self._errors("列出未完成的分段上传"):
            while True:
                page = self._client.list_multipart_uploads(**kwargs)
                keys += [self._strip(u["Key"]) for u in page.get("Uploads", [])]
                if not page.get("IsTruncated"):
                    return keys
                kwargs["KeyMarker"] = page.get("NextKeyMarker", "")
                kwargs["UploadIdMarker"] = page.get("NextUploadIdMarker", "")

    # --- writing ---------------------------------------------------------------------------

    def put_bytes(self, key: str, data: bytes) -> None:
        full = self._full(key)
        if len(data) > self.multipart_threshold:
            self._put_multipart(full, key, io.BytesIO(data), len(data))
        else:
            self._put_single(full, key, data)

    def put_file(self, key: str, source: Path) -> None:
        full = self._full(key)
        with _storage._open_source(source) as src:  # a missing source is the caller's error
            try:
                size = os.fstat(src.fileno()).st_size
            except (OSError, io.UnsupportedOperation, AttributeError):
                size = None
            try:
                if size is not None and size > self.multipart_threshold:
                    self._put_multipart(full, key, src, size)
                    return
                data = _read_full(src, self.multipart_threshold + 1)
                if len(data) <= self.multipart_threshold:
                    self._put_single(full, key, data)
                else:  # grew since fstat, or not a regular file
                    self._put_multipart(full, key, io.BufferedReader(_Chain(data, src)), None)
            except _SourceError as e:
                assert e.__cause__ is not None
                raise e.__cause__ from None

    def _put_single(self, full: str, key: str, data: bytes) -> None:
        digest = _b64(hashlib.sha256(data).digest())
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": full, "Body": data}
        if self.checksums:
            kwargs.update(ChecksumAlgorithm="SHA256", ChecksumSHA256=digest)
        with self._errors(f"写入 {key} "):
            try:
                self._client.put_object(**kwargs)
            except ClientError as e:
                if not self._checksum_refused(e, kwargs):
                    raise
                self._client.put_object(**kwargs)
        self._verify(full, key, len(data), {digest})

    def _checksum_refused(self, e: ClientError, kwargs: dict[str, Any]) -> bool:
        """The server refused the checksum headers: go on without them (verified by size)."""
        error = e.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", "").lower()
        if not self.checksums or code not in _CHECKSUM_REFUSED_CODES:
            return False
        if code != "NotImplemented" and "checksum" not in message:
            return False  # refused for another reason
        log.warning("%s 不接受 SHA-256 校验和（%s），改为只按大小校验写入", self._where, code)
        self.checksums = False
        for k in ("ChecksumAlgorithm", "ChecksumSHA256"):
            kwargs.pop(k, None)
        return True

    def _put_multipart(self, full: str, key: str, src: BinaryIO, size: int | None) -> None:
        part_size = self.part_size
        if size is not None:
            part_size = max(part_size, -(-size // MAX_PARTS))
        create: dict[str, Any] = {"Bucket": self.bucket, "Key": full}
        if self.checksums:
            create["ChecksumAlgorithm"] = "SHA256"
        with self._errors(f"开始分段上传 {key} "):
            try:
                upload = self._client.create_multipart_upload(**create)
            except ClientError as e:
                if not self._checksum_refused(e, create):
                    raise
                upload = self._client.create_multipart_upload(**create)
        upload_id = upload["UploadId"]
        # Part checksums only where the server acknowledged the algorithm (s3rver does not).
        with_checksums = upload.get("ChecksumAlgorithm") == "SHA256"
        parts: list[dict[str, Any]] = []
        part_digests: list[bytes] = []
        whole = hashlib.sha256()
        total = 0
        try:
            while True:
                chunk = _read_full(src, part_size)
                if not chunk and parts:
                    break
                number = len(parts) + 1
                if number > MAX_PARTS:
                    raise self._unavailable(f"写入 {key} 失败：超过 {MAX_PARTS} 段")
                whole.update(chunk)
                total += len(chunk)
                kwargs: dict[str, Any] = {
                    "Bucket": self.bucket,
                    "Key": full,
                    "UploadId": upload_id,
                    "PartNumber": number,
                    "Body": chunk,
                }
                part: dict[str, Any] = {"PartNumber": number}
                if with_checksums:
                    digest = hashlib.sha256(chunk).digest()
                    part_digests.append(digest)
                    kwargs.update(ChecksumAlgorithm="SHA256", ChecksumSHA256=_b64(digest))
                    part["ChecksumSHA256"] = _b64(digest)
                with self._errors(f"上传 {key} 的第 {number} 段"):
                    answer = self._client.upload_part(**kwargs)
                if (
                    with_checksums
                    and answer.get("ChecksumSHA256", part["ChecksumSHA256"])
                    != (part["ChecksumSHA256"])
                ):
                    raise self._unavailable(f"写入校验失败：{key} 第 {number} 段的 SHA-256 不符")
                part["ETag"] = answer["ETag"]
                parts.append(part)
                if len(chunk) < part_size:
                    break
            with self._errors(f"完成分段上传 {key} "):
                self._client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=full,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
                )
        except BaseException:
            self._abort(full, key, upload_id)
            raise
        expected = {_b64(whole.digest())}
        if part_digests:  # S3's composite checksum: SHA-256 of the parts' digests
            expected.add(_b64(hashlib.sha256(b"".join(part_digests)).digest()))
        self._verify(full, key, total, expected)

    def _abort(self, full: str, key: str, upload_id: str) -> None:
        try:
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)
        except (ClientError, BotoCoreError) as e:
            log.warning(
                "%s：未能中止 %s 的分段上传 %s（%s）；这些分段不可见，由存储桶的生命周期规则"
                "（AbortIncompleteMultipartUpload）清理",
                self._where,
                key,
                upload_id,
                e,
            )

    def _verify(self, full: str, key: str, size: int, checksums: set[str]) -> None:
        """Read the written object's size (and checksum, where kept) back; a mismatch removes
        the object and raises LocationUnavailable. A store may answer an overwrite before the new
        object reads back whole (seen with s3rver: 0 bytes for a moment): a mismatch is read again
        twice, after VERIFY_RETRY_SECONDS, before it counts."""
        if not self.verify_writes:
            return
        for wait in (*VERIFY_RETRY_SECONDS, None):
            problem = self._read_back(full, key, size, checksums)
            if problem is None or wait is None:
                break
            time.sleep(wait)
        if problem is not None:
            try:
                self._client.delete_object(Bucket=self.bucket, Key=full)
            except (ClientError, BotoCoreError):
                log.exception("%s：无法删除校验失败的对象 %s", self._where, key)
            raise self._unavailable(f"写入校验失败：{key} {problem}，已删除")

    def _read_back(self, full: str, key: str, size: int, checksums: set[str]) -> str | None:
        with self._errors(f"校验写入的 {key} "):
            try:
                head = self._client.head_object(
                    Bucket=self.bucket, Key=full, ChecksumMode="ENABLED"
                )
            except ClientError as e:
                if e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404:
                    raise
                raise self._unavailable(f"写入校验失败：{key} 写入后不存在") from e
        if head["ContentLength"] != size:
            return f"应为 {size} 字节，实存 {head['ContentLength']} 字节"
        stored = head.get("ChecksumSHA256")
        if stored and stored.split("-")[0] not in checksums:
            return "SHA-256 校验和不符"
        return None

    # --- reading ---------------------------------------------------------------------------

    def open(self, key: str) -> BinaryIO:
        full = self._full(key)
        with self._errors(f"读取 {key} ", key):
            answer = self._client.get_object(Bucket=self.bucket, Key=full)
        return io.BufferedReader(_BodyReader(self, key, answer["Body"]), buffer_size=MiB)

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as fh:
            return fh.read()

    def size(self, key: str) -> int | None:
        full = self._full(key)
        try:
            with self._errors(f"读取 {key} 的大小", key):
                head = self._client.head_object(Bucket=self.bucket, Key=full)
        except ObjectMissing:
            self._check_bucket()
            return None
        return int(head["ContentLength"])

    def _pages(self, prefix: str) -> Iterator[_Page]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "MaxKeys": self.list_page_size}
        if prefix:
            kwargs["Prefix"] = prefix
        while True:
            with self._errors("列出对象"):
                page = self._client.list_objects_v2(**kwargs)
            yield [(o["Key"], int(o.get("Size", 0))) for o in page.get("Contents", [])]
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            kwargs["ContinuationToken"] = token

    def _list_prefix(self, prefix: str) -> str:
        if prefix:
            return self._full(prefix.rstrip("/")) + "/"
        return self.prefix + "/" if self.prefix else ""

    def list(self, prefix: str = "") -> Iterator[str]:
        # S3 lists keys in UTF-8 byte order (Python's str order), but not every server does
        # (s3rver walks its directories): sorted here. Folder markers ("dir/") and keys that no
        # Location could name are skipped.
        keys = []
        for page in self._pages(self._list_prefix(prefix)):
            for full, _size in page:
                key = self._strip(full)
                try:
                    keys.append(check_key(key))
                except InvalidKey:
                    continue
        return iter(sorted(keys))

    def delete(self, key: str) -> None:
        full = self._full(key)
        try:
            with self._errors(f"删除 {key} ", key):
                self._client.delete_object(Bucket=self.bucket, Key=full)
        except ObjectMissing:  # DeleteObject is idempotent on S3; some servers answer 404
            return

    def capacity(self) -> Capacity:
        used = 0
        for page in self._pages(self._list_prefix("")):
            used += sum(size for _key, size in page)
        return Capacity(used_bytes=used, free_bytes=None, total_bytes=None)


class _BodyReader(io.RawIOBase):
    """A GetObject body as a raw stream whose network errors are LocationUnavailable."""

    def __init__(self, location: S3Location, key: str, body: Any) -> None:
        self._location = location
        self._key = key
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        with self._location._errors(f"读取 {self._key} ", self._key):
            data = self._body.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                self._body.close()
            finally:
                super().close()


class _Chain(io.RawIOBase):
    """Bytes already read, then the rest of a stream."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(view))
        view[: len(data)] = data
        return len(data)
