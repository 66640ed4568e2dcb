"""Settings: one validated model for every knob Dalil has.

Takes defaults < a TOML config file < environment (``DALIL_*``) < CLI flags and
returns a frozen :class:`Settings`. Secrets are ``SecretStr`` and never printed.

Environment variables map onto sections with one underscore:
``DALIL_LLM_BASE_URL`` -> ``llm.base_url``, ``DALIL_RETRIEVAL_TOP_K`` -> ``retrieval.top_k``.
``DALIL_STORE`` (no section) is a shortcut for ``store.path`` and ``DALIL_SERVER`` for ``server.url``; ``OPENAI_API_KEY`` is read
the same way, as the field ``openai_api_key`` (never dumped or shown), and fills ``llm.api_key``
and ``embeddings.api_key`` when they are not set otherwise. Settings come from the environment
through pydantic-settings' source only, never from a validator reading ``os.environ`` (only
``DALIL_CONFIG``, which names the config file, is read directly).
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from agent.errors import DalilError

CONFIG_ENV = "DALIL_CONFIG"
DEFAULT_CONFIG_PATHS = (Path("dalil.toml"), Path.home() / ".config" / "dalil" / "config.toml")


class StoreSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Path = Field(default=Path("store"), description="On-disk store: Chroma (embedded), registry and BM25 index.")
    url: str | None = Field(default=None, description="Chroma server URL (http://host:port); when set, the corpus lives "
                                     "there (vectors, texts, ingest log) and the store folder is this machine's cache of it.")
    lock_timeout: float = Field(default=30.0, ge=0, description="Seconds a second ingest waits for the store's write lock.")
    read_wait: float = Field(default=5.0, ge=0, description="Seconds a search waits for the vector store while another (non-ingest) "
                             "process uses it, before answering from BM25 alone.")
    collection: str = Field(default="dalil", description="Collection name prefix; a fingerprint of embedder and chunking is appended.")


class ChunkingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chunk_tokens: int = Field(default=200, ge=16, le=8192, description="Maximum tokens per chunk (tiktoken).")
    overlap_tokens: int = Field(default=40, ge=0, le=2048, description="Sentence overlap between consecutive chunks of a long paragraph.")
    encoding: str = Field(default="o200k_base", description="tiktoken encoding used to count tokens.")
    worker: bool | None = Field(
        default=None,
        description="Chunk and embed in a second process while the first writes: true for every ingest, false never. "
        "Default: for ingests of 16 MB and more, with 2+ CPU cores and the local embedder.",
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingSettings:
        if self.overlap_tokens >= self.chunk_tokens:
            raise ValueError("chunking.overlap_tokens must be smaller than chunking.chunk_tokens")
        return self


class IngestSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_file_mb: float = Field(
        default=100.0, gt=0,
        description="Largest article, JSON/JSONL or manifest file read, in MB (10^6 bytes); a larger one is skipped with its size.",
    )
    watch_debounce_ms: int = Field(
        default=1600, ge=0, le=600_000,
        description="ingest --watch: the longest, in milliseconds, a burst of file changes is gathered into one batch (a burst "
        "ends sooner, after 0.4 s without a change).",
    )
    watch_polling: bool | None = Field(
        default=None,
        description="ingest --watch: poll the folder instead of the system's file notifications (network mounts, some "
        "containers). Default: WATCHFILES_FORCE_POLLING, else notifications.",
    )


class FetchSettings(BaseModel):
    """`dalil ingest URL`, `--feed URL` and `dalil daily`: how web pages and feeds are fetched (agent/ingest/fetch.py)."""

    model_config = ConfigDict(extra="forbid")

    timeout_s: float = Field(default=20.0, gt=0, description="Seconds to connect, to wait for each read, and for a whole page or "
                             "feed at most; a slower one fails with its URL.")
    max_mb: float = Field(default=10.0, gt=0, description="Largest page or feed fetched, in MB (10^6 bytes, after decompression); "
                          "a larger one is cut off and fails.")
    max_redirects: int = Field(default=5, ge=0, le=30, description="Redirects followed per URL, each checked like the URL itself.")
    concurrency: int = Field(default=4, ge=1, le=32, description="Pages fetched at the same time (at most 2 from one host).")
    user_agent: str = Field(default="Dalil/0.1 (news reader)", description="The User-Agent header sent.")
    # NoDecode: DALIL_FETCH_ALLOW_HOSTS is comma-separated text, not JSON
    allow_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts fetched even though they resolve to a loopback, private, link-local or otherwise non-public "
        "address (refused by default: a feed can point anywhere), e.g. [\"127.0.0.1\", \"intranet.example\"]; "
        "comma-separated in the environment.",
    )

    @field_validator("allow_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list):
            return [str(host).strip().strip("[]").lower() for host in value if str(host).strip()]
        return value


class WireSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="Find wire copies at ingest (the same agency text carried by several outlets) and "
                          "show each story once in search and answers, with the outlets that also carried it.")
    threshold: float = Field(default=0.6, ge=0.5, le=1.0, description="Estimated Jaccard similarity of two articles' 5-word "
                             "shingles (normalized Arabic) from which the later one joins the earlier one's story.")


class RetrievalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    top_k: int = Field(default=5, ge=1, le=200, description="Passages returned by search and used for answers.")
    candidates: int = Field(default=20, ge=1, le=1000, description="Candidates taken from each retriever before fusion.")
    mode: Literal["hybrid", "dense", "bm25"] = Field(default="hybrid", description="Retrieval mode.")
    bm25_weight: float | None = Field(
        default=None, ge=0.0, le=1.0,
        description="Hybrid: weight of the BM25 list in the fusion (dense gets the rest). Default: 0.75 with the lexical local "
        "embedder (its list mostly echoes BM25), 0.5 with a semantic one (e5 or an endpoint).",
    )
    fusion: Literal["rrf", "relative_score", "dist_based_score"] = Field(
        default="rrf", description="Hybrid fusion: reciprocal rank, or llama-index's min-max / distribution-based score fusion.",
    )
    rrf_k: int = Field(default=20, ge=1, le=1000, description="Hybrid: reciprocal-rank-fusion constant k in w/(k + rank).")
    min_coverage: float = Field(
        default=0.15, ge=0.0, le=1.0,  # tuned on evals/dev.yaml with extractive.ABSENT_SHARE; the held-out split never
        description="Extractive mode: share of the question's weighted terms the best sentence must contain, else abstain.",
    )
    max_sentences: int = Field(default=3, ge=1, le=10, description="Extractive mode: sentences quoted per answer.")


class EmbeddingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Literal["local", "e5", "openai"] = Field(
        default="local",
        description="local: offline hashing embedder (fast, lexical); e5: bundled multilingual-e5-small (offline, semantic, "
        "cross-lingual; needs the e5 extra); openai: an OpenAI-compatible /embeddings endpoint.",
    )
    threads: int | None = Field(default=None, ge=1, le=256, description="e5: CPU threads (default: all cores).")
    dim: int = Field(default=1024, ge=64, le=8192, description="Dimension of the local embedder.")
    model: str | None = Field(default=None, description="Embeddings model name at the endpoint.")
    base_url: str | None = Field(default=None, description="Embeddings endpoint base URL (…/v1).")
    api_key: SecretStr | None = Field(default=None, description="Embeddings API key (defaults to OPENAI_API_KEY).")
    batch_size: int = Field(default=64, ge=1, le=2048, description="Texts per embeddings request.")
    timeout: float = Field(default=60.0, gt=0, description="Seconds per embeddings request.")
    max_retries: int = Field(default=3, ge=0, le=10, description="Retries on timeouts, 429 and 5xx.")


class LLMSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint base URL (…/v1); unset = OpenAI's.")
    model: str | None = Field(default=None, description="Chat model name; LLM mode is available only when set.")
    api_key: SecretStr | None = Field(default=None, description="API key (DALIL_LLM_API_KEY or OPENAI_API_KEY).")
    timeout: float = Field(default=60.0, gt=0, description="Seconds per request (each read of a streamed answer).")
    total_timeout: float = Field(
        default=300.0, gt=0,
        description="Seconds a whole answer may take, however slowly it trickles in; then the answer ends with an error.",
    )
    max_retries: int = Field(default=3, ge=0, le=10, description="Retries on timeouts, 429 and 5xx.")
    context_window: int = Field(default=8192, ge=512, description="Model context window in tokens.")
    max_tokens: int = Field(default=800, ge=16, description="Completion tokens reserved for the answer.")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="Sampling temperature.")
    tokenizer: str = Field(default="o200k_base", description="tiktoken encoding used to budget prompts.")
    rewrite_queries: bool = Field(default=True, description="Rewrite questions into Arabic and English search queries.")
    tools: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="LLM answers by an agent loop that calls Dalil's tools (search, events, accounts, read, resolve_date): "
        "on; off: one pass (rewrite, retrieve once, answer); auto: the agent loop, falling back to one pass when the "
        "endpoint refuses a request with tools.",
    )
    agent_max_steps: int = Field(default=6, ge=1, le=30, description="Agent loop: tool calls per answer, at most.")
    agent_max_tokens: int = Field(
        default=40000, ge=1000, description="Agent loop: prompt + completion tokens of all its requests together, at most.")
    agent_timeout: float = Field(default=120.0, gt=0, description="Agent loop: seconds for the whole loop, at most.")

    @property
    def configured(self) -> bool:
        return bool(self.model) and bool(self.base_url or self.api_key)


class ServerSettings(BaseModel):
    """The client side: a local `dalil serve`, or a remote Dalil HTTP server (``dalil --server URL``)."""

    model_config = ConfigDict(extra="forbid")

    use: bool = Field(
        default=True,
        description="dalil ask / search hand their question to a running `dalil serve` of the same store and settings "
        "(it keeps the store open, so no process pays the imports and index loads again).",
    )
    timeout: float = Field(default=300.0, gt=0, description="Seconds a client waits for the server's answer before working itself "
                           "(with server.url: before giving up).")
    url: str | None = Field(
        default=None,
        description="A Dalil HTTP server (`dalil serve --http`) that dalil ask, search, timeline, summarize, brief and chat "
        "talk to instead of opening a store: http(s)://host:port (DALIL_SERVER, or `dalil --server URL`).",
    )
    token: SecretStr | None = Field(default=None, description="server.url's API token (one of its serve.tokens), sent as "
                                    "`Authorization: Bearer`; DALIL_SERVER_TOKEN. Never printed.")


MIN_TOKEN_CHARS = 16


class ServeSettings(BaseModel):
    """`dalil serve --http`: the HTTP server and its OpenAI-compatible endpoint (agent/serve/http.py)."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(default="127.0.0.1", description="dalil serve --http: the address to listen on; any but a loopback "
                      "address needs serve.tokens.")
    port: int = Field(default=8000, ge=0, le=65535, description="dalil serve --http: the TCP port (0: any free port).")
    # NoDecode: DALIL_SERVE_TOKENS is comma-separated text, not JSON
    tokens: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="dalil serve --http: API tokens (at least 16 characters each; comma-separated in the environment). When "
        "set, every request but /health needs `Authorization: Bearer <token>`. Never printed.",
    )
    max_body_bytes: int = Field(default=65536, ge=1024, description="dalil serve --http: largest request body; a larger one is "
                                "refused (413).")
    rate_limit: int = Field(default=120, ge=0, description="dalil serve --http: requests a minute from one client address, at "
                            "most (429 past it; /health is not counted); 0: no limit.")
    ingest: bool = Field(default=False, description="dalil serve: accept POST /v1/ingest (articles' text and metadata in the "
                         "body, saved under the store's uploads/ folder and ingested).")
    max_ingest_bytes: int = Field(default=10_000_000, ge=1024, description="dalil serve: largest POST /v1/ingest body; a "
                                  "larger one is refused (413).")

    @field_validator("tokens", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [token.strip() for token in value.split(",") if token.strip()]
        return value

    @field_validator("tokens")
    @classmethod
    def _long_enough(cls, tokens: list[SecretStr]) -> list[SecretStr]:
        for token in tokens:
            secret = token.get_secret_value()
            if len(secret) < MIN_TOKEN_CHARS or any(c.isspace() or c == "," for c in secret):
                raise ValueError(f"each token must be at least {MIN_TOKEN_CHARS} characters, without spaces or commas "
                                 "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')")
        return tokens


class _DalilEnv(EnvSettingsSource):
    """DALIL_* variables, with the DALIL_STORE and DALIL_SERVER shortcuts turned into store.path and server.url."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        env = dict(super()._load_env_vars())
        shortcut = env.pop("dalil_store", None)
        if shortcut and "dalil_store_path" not in env:
            env["dalil_store_path"] = shortcut
        server = env.pop("dalil_server", None)  # DALIL_SERVER: the remote server's URL
        if server and "dalil_server_url" not in env:
            env["dalil_server_url"] = server
        return env


class Settings(BaseSettings):
    """Every setting of Dalil, validated."""

    model_config = SettingsConfigDict(
        env_prefix="DALIL_", env_nested_delimiter="_", env_nested_max_split=1, extra="forbid", frozen=True,
    )

    store: StoreSettings = Field(default_factory=StoreSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    wire: WireSettings = Field(default_factory=WireSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    serve: ServeSettings = Field(default_factory=ServeSettings)
    lexicon: Path | None = Field(default=None, description="YAML file of entity spellings and English→Arabic terms (default: the bundled one).")
    # OPENAI_API_KEY, read by the environment source like every other variable (the alias is its name, without
    # the DALIL_ prefix); it fills llm.api_key and embeddings.api_key where they are not set. Never dumped or shown:
    # the sections carry the key that is used.
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias="OPENAI_API_KEY", exclude=True, repr=False,
        description="OPENAI_API_KEY: the API key of llm and embeddings when theirs is not set.",
    )

    @model_validator(mode="before")
    @classmethod
    def _store_shortcut(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("store"), (str, Path)):
            data = {**data, "store": {"path": data["store"]}}
        return data

    @model_validator(mode="after")
    def _openai_key_fallback(self) -> Settings:
        # assigned, not validated in: the sections do not count the key as set, so a config file's
        # llm.api_key still ranks above OPENAI_API_KEY when load_settings merges file < env
        key = self.openai_api_key
        if key and self.llm.api_key is None:
            object.__setattr__(self.llm, "api_key", key)
        if key and self.embeddings.api_key is None:
            object.__setattr__(self.embeddings, "api_key", key)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, _DalilEnv(settings_cls))

    def ingest_worker(self) -> bool:
        """Whether a large ingest chunks and embeds in a worker process (``chunking.worker``, else by the machine)."""
        if self.chunking.worker is not None:
            return self.chunking.worker
        return (os.cpu_count() or 1) >= 2 and self.embeddings.provider == "local"

    @property
    def default_answer_mode(self) -> Literal["extractive", "llm"]:
        """How questions are answered unless a mode is asked for: llm when an endpoint is configured."""
        return "llm" if self.llm.configured else "extractive"

    @property
    def bm25_weight(self) -> float:
        """The hybrid fusion weight of BM25: as set, else by how semantic the dense list is.

        Measured on evals/dev.yaml: the lexical hashing
        embedder's list mostly repeats BM25's, so BM25 leads (0.75); a semantic embedder
        finds what BM25 misses, so the two lists weigh the same (0.5)."""
        if self.retrieval.bm25_weight is not None:
            return self.retrieval.bm25_weight
        return 0.75 if self.embeddings.provider == "local" else 0.5

    def vector_shape(self) -> dict[str, Any]:
        """Everything that shapes the stored vectors and chunks, as the settings name it."""
        emb = self.embeddings
        model = {"openai": emb.model, "e5": "multilingual-e5-small-q4"}.get(emb.provider, f"hash-v3-{emb.dim}")
        return {"embeddings.provider": emb.provider, "embeddings.model": model, "chunking.chunk_tokens": self.chunking.chunk_tokens,
                "chunking.overlap_tokens": self.chunking.overlap_tokens, "chunking.encoding": self.chunking.encoding}

    def collection_name(self) -> str:
        """Collection name with a fingerprint of everything that shapes the vectors (after paper-qa)."""
        shape = "|".join(str(value) for value in self.vector_shape().values())
        return f"{self.store.collection}-{hashlib.sha1(shape.encode()).hexdigest()[:8]}"

    def public_dict(self) -> dict[str, Any]:
        """Settings as plain data with secrets masked: API keys, and credentials inside URLs
        (userinfo, ``?api-key=…``; see ``agent.safety.mask_url``)."""
        from agent.safety import MASK, mask_url

        data = self.model_dump(mode="json")
        for section in ("llm", "embeddings"):
            if data[section].get("api_key"):
                data[section]["api_key"] = "****"
            data[section]["base_url"] = mask_url(data[section].get("base_url"))
        data["store"]["url"] = mask_url(data["store"].get("url"))
        data["server"]["url"] = mask_url(data["server"].get("url"))
        if data["server"].get("token"):
            data["server"]["token"] = MASK
        data["serve"]["tokens"] = [MASK for _ in data["serve"]["tokens"]]
        return data


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def find_config_file(explicit: Path | None = None) -> Path | None:
    """The config file in force: --config, then $DALIL_CONFIG, then ./dalil.toml, then ~/.config/dalil/config.toml."""
    if explicit is not None:
        return explicit
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return next((p for p in DEFAULT_CONFIG_PATHS if p.exists()), None)  # a folder or unreadable file there is an error, not skipped


def read_config_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DalilError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise DalilError(f"config file {path} is a folder: point --config (or DALIL_CONFIG) at a TOML file") from None
    except PermissionError:
        raise DalilError(f"cannot read config file {path}: permission denied") from None
    except OSError as exc:
        raise DalilError(f"cannot read config file {path}: {exc.strerror or type(exc).__name__}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DalilError(f"config file {path} is not valid TOML: {exc}") from None


def load_settings(config_file: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Build the effective settings: defaults < config file < environment < ``overrides`` (CLI flags)."""
    file_layer = read_config_file(find_config_file(config_file))
    try:
        # pydantic-settings ranks init kwargs above the environment, so the environment is
        # read on its own first, then file < env < flags are merged explicitly.
        env_layer = Settings().model_dump(exclude_unset=True)
        merged = _deep_merge(_deep_merge(file_layer, env_layer), overrides or {})
        return Settings(**merged)
    except ValidationError as exc:
        raise DalilError(_first_error(exc)) from None
    except SettingsError as exc:
        raise DalilError(f"invalid environment setting: {exc}") from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "settings"
    return f"invalid setting {where}: {err['msg']}"
