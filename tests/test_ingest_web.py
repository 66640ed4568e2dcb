"""Web pages and feeds: the address guard, the fetch limits, extraction of Arabic pages, feeds, and `dalil ingest URL / --feed`.

A local server (tests/web_fixtures.py) serves the pages and feeds of tests/fixtures_web/ on 127.0.0.1, which the
tests allow with fetch.allow_hosts; nothing leaves the machine.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.config import load_settings
from agent.errors import DalilError
from agent.ingest.feeds import parse_feed, read_feed_list
from agent.ingest.fetch import Fetcher, FetchError, FetchPolicy, checked_address, refused_reason, resolve
from agent.ingest.web import extract_article
from agent.pipeline import Dalil
from tests.web_fixtures import FixtureServer

TIMEOUT = 0.5  # the tests' fetch.timeout_s; the server's /slow waits 3 s
LOCAL = frozenset({"127.0.0.1"})


@pytest.fixture(scope="module")
def server() -> Iterator[FixtureServer]:
    with FixtureServer(slow_seconds=3.0, big_bytes=3_000_000) as running:
        yield running


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(FetchPolicy(timeout_s=TIMEOUT, max_bytes=1_000_000, max_redirects=3, allow_hosts=LOCAL)) as client:
        yield client


def _dalil(store: Path, **fetch: Any) -> Dalil:
    return Dalil(load_settings(None, {"store": {"path": store}, "fetch": {"allow_hosts": ["127.0.0.1"], "timeout_s": TIMEOUT,
                                                                          "max_mb": 1, **fetch}}))


# ------------------------------------------------------------------------------------ the address guard


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "0.0.0.0",
                                     "224.0.0.1", "100.64.0.1", "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1", "::"])
def test_the_guard_refuses_every_non_public_address(address: str) -> None:
    import ipaddress

    assert refused_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "185.60.216.35", "2001:4860:4860::8888"])
def test_the_guard_lets_public_addresses_through(address: str) -> None:
    import ipaddress

    assert refused_reason(ipaddress.ip_address(address)) is None


def test_metadata_and_private_addresses_are_refused_by_name_with_the_setting_to_change() -> None:
    with pytest.raises(FetchError, match=r"169\.254\.169\.254 is a link-local address.*fetch\.allow_hosts"):
        checked_address("http://169.254.169.254/latest/meta-data/", frozenset())
    with pytest.raises(FetchError, match=r"10\.0\.0\.1 is a private address"):
        checked_address("http://10.0.0.1/admin", frozenset())
    with pytest.raises(FetchError, match=r"localhost \(127\.0\.0\.1\) is a loopback address"):
        checked_address("http://localhost:9/x", frozenset())
    url, ip = checked_address("http://localhost:9/x", frozenset({"localhost"}))  # a named host is allowed
    assert str(ip) in ("127.0.0.1", "::1") and url.host == "localhost"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://127.0.0.1/", "/relative/path"])
def test_only_http_and_https_are_fetched(url: str) -> None:
    with pytest.raises(FetchError, match="only http and https"):
        checked_address(url, LOCAL)


def test_a_refused_address_is_never_connected_to(server: FixtureServer, fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch) -> None:
    connected: list[Any] = []
    real = socket.create_connection

    def spy(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        connected.append(address[0])
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    for path, address in (("/to-private", "10.0.0.1"), ("/to-metadata", "169.254.169.254")):
        with pytest.raises(FetchError, match="refused: " + re.escape(address)):
            fetcher.get(server.url + path)  # the redirect hop is checked like the URL itself
    with pytest.raises(FetchError, match="refused"):
        fetcher.get("http://169.254.169.254/latest/meta-data/")
    assert connected and set(connected) == {"127.0.0.1"}


def test_the_connection_goes_to_the_address_that_was_checked(server: FixtureServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A host name is resolved once, by the guard; the request goes to that address with the name as Host (no
    second lookup that a rebinding DNS server could answer differently)."""
    lookups: list[str] = []
    real = socket.getaddrinfo

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        return real("127.0.0.1" if host == "news.test" else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    port = server.url.rsplit(":", 1)[1]
    with Fetcher(FetchPolicy(timeout_s=TIMEOUT, allow_hosts=frozenset({"news.test"}))) as client:
        page = client.get(f"http://news.test:{port}/article-meta.html")
    assert page.url == f"http://news.test:{port}/article-meta.html"
    assert lookups.count("news.test") == 1
    assert server.hosts["/article-meta.html"] == f"news.test:{port}"
    with pytest.raises(FetchError, match=r"news\.test \(127\.0\.0\.1\) is a loopback address"):  # not listed: refused
        checked_address(f"http://news.test:{port}/", frozenset())


def test_an_unknown_host_is_one_line() -> None:
    with pytest.raises(FetchError, match=r"cannot resolve host no-such-host\.invalid"):
        resolve("no-such-host.invalid", 80)


# ------------------------------------------------------------------------------------ the fetch limits


def test_a_slow_page_times_out(server: FixtureServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match=r"timed out after 0\.5 s \(fetch\.timeout_s\)"):
        fetcher.get(server.url + "/slow")


def test_an_oversized_body_is_cut_off(server: FixtureServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match=r"larger than 1 MB \(fetch\.max_mb\)"):
        fetcher.get(server.url + "/big")


def test_redirects_are_bounded(server: FixtureServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match="redirect loop"):
        fetcher.get(server.url + "/loop")
    assert fetcher.get(server.url + "/redirect").url == server.url + "/article-meta.html"
    with Fetcher(FetchPolicy(timeout_s=TIMEOUT, max_redirects=0, allow_hosts=LOCAL)) as strict, \
            pytest.raises(FetchError, match=r"more than 0 redirects \(fetch\.max_redirects\)"):
        strict.get(server.url + "/redirect")


def test_at_most_two_requests_at_once_to_one_host() -> None:
    with FixtureServer(slow_seconds=0.2) as slow, \
            Fetcher(FetchPolicy(timeout_s=5, concurrency=6, allow_hosts=LOCAL)) as client:
        pages = list(client.map(lambda i: client.get(f"{slow.url}/slow?{i}").data, range(6)))
    assert len(pages) == 6 and slow.hits["/slow"] == 6
    assert slow.slow_most == 2  # fetch.concurrency 6, but one host: never more than PER_HOST


def test_an_http_error_is_named(server: FixtureServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        fetcher.get(server.url + "/missing.html")


# ------------------------------------------------------------------------------------ pages and feeds


def test_article_pages_give_text_title_outlet_and_a_date_only_where_there_is_one(server: FixtureServer, fetcher: Fetcher) -> None:
    import datetime as dt

    meta = extract_article(fetcher.get(server.url + "/article-meta.html"))
    assert meta.title == "لافروف وكيري يبحثان هاتفيا الوضع في حلب"
    assert "اتصالا هاتفيا جرى يوم الخميس" in meta.text and "الرئيسية" not in meta.text  # the article, not the menu
    assert (meta.published, meta.date_source, meta.outlet, meta.language) == (dt.date(2016, 10, 6), "page", "أخبار دليل", "ar")
    in_text = extract_article(fetcher.get(server.url + "/article-textdate.html"))
    assert (in_text.published, in_text.date_source) == (dt.date(2016, 10, 7), "text")  # "موسكو في 7 أكتوبر 2016"
    undated = extract_article(fetcher.get(server.url + "/article-nodate.html"))
    assert (undated.published, undated.date_source, undated.outlet) == (None, "none", "127.0.0.1")  # no date made up
    from_feed = extract_article(fetcher.get(server.url + "/article-nodate.html"), feed_date=dt.date(2016, 10, 8))
    assert (from_feed.published, from_feed.date_source) == (dt.date(2016, 10, 8), "feed")


def test_a_windows_1256_page_decodes_from_its_meta_charset(server: FixtureServer, fetcher: Fetcher) -> None:
    page = fetcher.get(server.url + "/article-win1256.html")
    assert page.charset is None and "فرنسا".encode() not in page.data  # not UTF-8, and the header does not say
    article = extract_article(page)
    assert "إن بلاده ستطرح على مجلس الأمن مشروع قرار" in article.text
    assert article.encoding == "windows-1256" and "\ufffd" not in article.text


def test_a_page_whose_labels_are_missing_or_wrong_still_decodes() -> None:
    from agent.ingest.fetch import Fetched
    from agent.ingest.web import decode_page

    data = (Path(__file__).parent / "fixtures_web" / "article-win1256.html").read_bytes()
    lying = decode_page(Fetched("http://x.example/a", data, "text/html", "utf-8"))  # the header says UTF-8: the <meta> is right
    unlabelled = decode_page(Fetched("http://x.example/a", re.sub(rb"<meta http-equiv[^>]*>", b"", data), "text/html", None))
    for text, encoding in (lying, unlabelled):
        assert encoding == "windows-1256" and "نظيره الروسي سيرغي لافروف" in text
    bom = decode_page(Fetched("http://x.example/a", b"\xef\xbb\xbf" + "<p>حلب</p>".encode(), "text/html", "windows-1256"))
    assert bom == ("<p>حلب</p>", "utf-8-sig")  # a byte order mark outranks the header


def test_a_page_that_is_not_html_or_has_no_article_fails(server: FixtureServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match=r"not an HTML page .*use --feed URL"):
        extract_article(fetcher.get(server.url + "/feed.xml"))


def test_rss_and_atom_items_with_their_links_and_dates(server: FixtureServer, fetcher: Fetcher) -> None:
    import datetime as dt

    rss = parse_feed(fetcher.get(server.url + "/feed.xml").data, server.url + "/feed.xml")
    assert [i.link for i in rss][:2] == [server.url + "/article-meta.html", server.url + "/article-textdate.html"]
    assert rss[0].published == dt.date(2016, 10, 6) and rss[1].published is None and rss[1].key.endswith("textdate-1")  # the guid, not the link
    atom = parse_feed(fetcher.get(server.url + "/atom.xml").data, server.url + "/atom.xml")
    assert (atom[0].key, atom[0].link, atom[0].published) == (
        "tag:dalil.example,2016:atom-1", server.url + "/article-atom.html", dt.date(2016, 10, 6))
    with pytest.raises(FetchError, match="not an RSS or Atom feed"):
        parse_feed(fetcher.get(server.url + "/broken.xml").data, server.url + "/broken.xml")


def test_a_feeds_file(tmp_path: Path) -> None:
    path = tmp_path / "feeds.txt"
    path.write_text("# news\nhttps://a.example/rss\n\n  https://b.example/atom.xml  # world\nhttps://a.example/rss\n", encoding="utf-8")
    assert read_feed_list(path) == ["https://a.example/rss", "https://b.example/atom.xml"]
    path.write_text("https://a.example/rss\nnot a url\n", encoding="utf-8")
    with pytest.raises(DalilError, match="line 2: not an http"):
        read_feed_list(path)
    with pytest.raises(DalilError, match="not found"):
        read_feed_list(tmp_path / "none.txt")


# ------------------------------------------------------------------------------------ into the store


def test_feeds_land_in_the_store_and_a_rerun_fetches_only_what_failed(server: FixtureServer, tmp_path: Path) -> None:
    dalil = _dalil(tmp_path / "store")
    before = server.hits.copy()
    report = dalil.ingest_web([], [server.url + "/feed.xml", server.url + "/atom.xml"])
    status = {i.url.removeprefix(server.url): (i.status, i.reason) for i in report.items}
    assert {k: v[0] for k, v in status.items()} == {
        "/article-meta.html": "added", "/article-textdate.html": "added", "/article-nodate.html": "added",
        "/article-win1256.html": "added", "/article-atom.html": "added",
        "http://10.0.0.1/admin": "failed", "http://169.254.169.254/latest/meta-data/": "failed"}
    assert "private address" in (status["http://10.0.0.1/admin"][1] or "")
    assert server.hits["/article-meta.html"] - before["/article-meta.html"] == 1  # in both feeds, fetched once
    docs = {d.url: d for d in dalil.store.registry.documents()}
    meta = docs[server.url + "/article-meta.html"]
    assert (meta.published, meta.outlet, meta.title, meta.language) == ("2016-10-06", "أخبار دليل",
                                                                        "لافروف وكيري يبحثان هاتفيا الوضع في حلب", "ar")
    assert "سيرغي لافروف ونظيره الأمريكي جون كيري" in meta.text  # the original text, kept as written
    assert docs[server.url + "/article-nodate.html"].published is None
    assert docs[server.url + "/article-win1256.html"].published == "2016-10-06"  # the feed's date
    assert sorted(p.name for p in (tmp_path / "store" / "web").glob("*.json")) and (tmp_path / "store" / "web" / "seen.json").is_file()

    hits = server.hits.copy()
    again = dalil.ingest_web([], [server.url + "/feed.xml", server.url + "/atom.xml"])
    assert [f.new for f in again.feeds] == [2, 0]  # only the two refused items are tried again
    assert not again.ingest.added and all(i.status == "failed" for i in again.items)
    assert all(server.hits[p] == hits[p] for p in hits if p.startswith("/article"))
    assert len(dalil.store.registry.documents()) == 5


def test_a_bad_page_never_stops_the_others_and_is_tried_again(server: FixtureServer, tmp_path: Path) -> None:
    dalil = _dalil(tmp_path / "store")
    report = dalil.ingest_web([server.url + "/article-textdate.html"], [server.url + "/bad-items.xml", server.url + "/broken.xml",
                                                                         server.url + "/no-such-feed.xml"])
    reasons = {i.url.removeprefix(server.url): i.reason for i in report.items if i.status == "failed"}
    assert set(reasons) == {"/slow", "/big", "/loop", "/missing.html"}
    assert "timed out" in reasons["/slow"] and "fetch.max_mb" in reasons["/big"] and "redirect loop" in reasons["/loop"]
    assert {f.url.removeprefix(server.url): f.error for f in report.feeds if f.error} == {
        "/broken.xml": "not an RSS or Atom feed", "/no-such-feed.xml": "HTTP 404 Not Found"}
    assert sorted(report.ingest.added) and len(report.ingest.added) == 2  # the good page and the good feed item landed
    assert all("\n" not in reason for _, reason in report.failed)
    second = dalil.ingest_web([], [server.url + "/bad-items.xml"])
    assert second.feeds[0].new == 4 and len(dalil.store.registry.documents()) == 2


def test_an_extractor_crash_on_one_page_is_that_page_s_error(server: FixtureServer, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import trafilatura

    real = trafilatura.bare_extraction

    def fragile(html: str, *args: Any, **kwargs: Any) -> Any:
        if "مجلس الأمن يناقش" in html:
            raise ValueError("lxml choked\nsecond line")
        return real(html, *args, **kwargs)

    monkeypatch.setattr(trafilatura, "bare_extraction", fragile)
    report = _dalil(tmp_path / "store").ingest_web([server.url + "/article-nodate.html", server.url + "/article-meta.html"])
    assert [(i.status, i.reason) for i in report.items] == [("failed", "unexpected error (ValueError: lxml choked)"), ("added", None)]


def test_a_page_fetched_again_is_unchanged_through_a_redirect_too(server: FixtureServer, tmp_path: Path) -> None:
    dalil = _dalil(tmp_path / "store")
    first = dalil.ingest_web([server.url + "/article-meta.html"])
    assert [i.status for i in first.items] == ["added"]
    again = dalil.ingest_web([server.url + "/article-meta.html", server.url + "/redirect"])
    assert [i.status for i in again.items] == ["unchanged", "unchanged"]  # the redirect ends at the same page


def test_without_allow_hosts_a_local_feed_is_refused(server: FixtureServer, tmp_path: Path) -> None:
    dalil = _dalil(tmp_path / "store", allow_hosts=[])
    report = dalil.ingest_web([], [server.url + "/feed.xml"])
    assert report.feeds[0].error is not None and "127.0.0.1 is a loopback address" in report.feeds[0].error
    assert not report.items


def test_allow_hosts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DALIL_FETCH_ALLOW_HOSTS", "127.0.0.1, Intranet.Example,[::1]")
    assert load_settings().fetch.allow_hosts == ["127.0.0.1", "intranet.example", "::1"]


# ------------------------------------------------------------------------------------ the command


def test_cli_ingest_urls_files_and_feeds_together(server: FixtureServer, tmp_path: Path) -> None:
    article = tmp_path / "local.txt"
    article.write_text("أعلنت وزارة الخارجية الروسية أن لافروف وكيري بحثا في اتصال هاتفي الوضع في سوريا.\n", encoding="utf-8")
    env = {"DALIL_FETCH_ALLOW_HOSTS": "127.0.0.1", "DALIL_FETCH_TIMEOUT_S": str(TIMEOUT)}
    args = ["ingest", str(article), server.url + "/article-meta.html", server.url + "/loop", "--feed", server.url + "/atom.xml",
            "--store", str(tmp_path / "store")]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 3, result.output
    assert f"dalil: failed: {server.url}/loop: redirect loop" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"added     {server.url}/article-meta.html · لافروف وكيري يبحثان هاتفيا الوضع في حلب · 2016-10-06 · أخبار دليل" in result.stdout
    assert "(the feed's date)" in result.stdout  # article-atom.html: no date on the page
    data = json.loads(CliRunner().invoke(app, [*args, "--json"], env=env).stdout)
    assert data["added"] == 0 and data["unchanged"] == 2 and data["web"]["feeds"][0]["new"] == 0
    assert [i["status"] for i in data["web"]["items"]] == ["unchanged", "failed"]


def test_credentials_in_a_url_are_never_printed(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["ingest", "http://reader:s3cret@10.0.0.1/feed?token=abc123", "--store", str(tmp_path / "store"),
                                      "--json"])
    assert result.exit_code == 3
    assert "s3cret" not in result.output and "abc123" not in result.output
    assert "dalil: failed: http://****@10.0.0.1/feed?token=****: refused: 10.0.0.1 is a private address" in result.stderr


def test_cli_ingest_needs_something(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["ingest", "--store", str(tmp_path / "store")])
    assert result.exit_code == 1 and "nothing to ingest" in result.stderr


def test_https_is_checked_against_the_url_host_while_connecting_to_the_checked_address(tmp_path: Path,
                                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection goes to the resolved address, yet TLS still verifies the certificate against the URL's host."""
    import datetime as dt
    import http.server
    import ssl
    import threading

    import httpx

    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "news.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("news.test")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = self.headers["Host"].encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_address[1]
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real("127.0.0.1" if host.endswith(".test") else host, *a, **k))
    try:
        with Fetcher(FetchPolicy(timeout_s=5, allow_hosts=frozenset({"news.test", "other.test"}))) as client:
            client.client.close()
            client.client = httpx.Client(verify=ssl.create_default_context(cafile=str(tmp_path / "cert.pem")), trust_env=False)
            assert client.get(f"https://news.test:{port}/").data == f"news.test:{port}".encode()
            with pytest.raises(FetchError, match=r"certificate is not valid for 'other\.test'"):
                client.get(f"https://other.test:{port}/")  # same address, another name: the certificate does not match
    finally:
        httpd.shutdown()
        httpd.server_close()
