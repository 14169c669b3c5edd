"""Golden results: the scrubber's output on a fixed corpus is recorded and must not drift.

The detectors have cheap necessary-condition gates in front of the costly checks (for speed);
a gate that is not truly necessary would silently skip a finding. This test pins, for ~2,000
deterministic inputs (free text, JSON, URLs, forms; planted personal data in every encoding,
harmless look-alikes, hostile fragments), a digest of the full result — value, removed list
and the ScrubError reason — as produced by the engine before the gates were added.

A mismatch prints the input and the new result. If a change of behaviour is intended, rerun
`.venv/bin/python tests/test_scrub_golden.py` and paste its output over `DIGESTS`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from pixelscleared.scrub import Scrubber, ScrubError, ScrubSettings

SETTINGS = [
    ScrubSettings(time_budget_ms=60_000),
    ScrubSettings(phone_regions=[], time_budget_ms=60_000),
    ScrubSettings(disable=["base64", "phone"], patterns={"member_no": r"\bMEM-\d{6}\b"}, keep_keys=["note"], time_budget_ms=60_000),
]

PII = [
    "jane.doe@example.com", "JANE+news@EXAMPLE.CO.UK", "jörg@bücher.de", "+44 20 7946 0958", "0044 20 7946 0958",
    "020 7946 0958", "(415) 555-2671", "415.555.2671", "+1 415 555 2671", "01 42 68 53 00", "030 901820",
    "tel:+14155552671", "4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005", "DE89370400440532013000",
    "GB82 WEST 1234 5698 7654 32", "123-45-6789", "192.168.0.17", "2001:db8::1", "fe80::1ff:fe23:4567:890a",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "Bearer abcdef1234567890", "Basic dXNlcjpwYXNzd29yZA",
    "token=abc123", "password: hunter2", "api_key=sk_live_x1", "session_id=s3ss10n", "MEM-123456",
]
HARMLESS = [
    "19.99", "$1,299.99", "1.299,99 €", "2024-05-01T12:00:00.000Z", "01/05/2024", "1716200000000", "1716200000",
    "1234567890.1716200001", "550e8400-e29b-41d4-a716-446655440000", "d41d8cd98f00b204e9800998ecf8427e",
    "SKU-1234-5678", "ORD-2024-000123", "E.C.P.CqgBqkZ2b3JkJ0oVEhC2dGlrdG9rLXBpeGVs", "G-ABC123XYZ", "45je4580v9",
    "iPhone 15 Pro 256GB", "1920x1080", "Chrome/124.0.6367.91", "logo@2x.png", "v1.2.3", "en-GB", "90210",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36", "content_category", "evt-00000005-7f3a9c",
]
GLUE = [" ", ", ", "\n", " (", ") ", ": ", "; ", " - ", "/", "=", "&", "%", "%20", "+", "call me on ", "phone ",
        "ring ", "ſms ", "Kontakt ", "x", "0", "00", "12", "\u00a0", "é", "日本", "\ufffd", "", "", ""]
KEYS = ["note", "q", "email", "dl", "value", "ep.x", "name", "ttclid", "first_name", "data", "items", "order_id"]


def _encode(rnd: random.Random, text: str) -> str:
    how = rnd.choice(["raw", "raw", "raw", "percent", "double", "deep", "base64", "base64url", "upper"])
    if how == "deep":  # more rounds than the decoder undoes: "%2540" is left
        for _ in range(5):
            text = quote(text, safe="")
        return text
    if how == "percent":
        return quote(text, safe="")
    if how == "double":
        return quote(quote(text, safe=""), safe="")
    if how == "base64":
        return base64.b64encode(text.encode()).decode()
    if how == "base64url":
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    if how == "upper":
        return text.upper()
    return text


def _text(rnd: random.Random) -> str:
    parts = []
    for _ in range(rnd.randrange(1, 5)):
        pool = rnd.choice([PII, HARMLESS, HARMLESS, GLUE])
        parts.append(_encode(rnd, rnd.choice(pool)) if pool is not GLUE else rnd.choice(pool))
        parts.append(rnd.choice(GLUE))
    return "".join(parts)


def corpus() -> Iterator[tuple[int, str, Any]]:
    """(settings index, method, input), always the same sequence."""
    rnd = random.Random(20_261_125)
    for i in range(2000):
        conf = i % len(SETTINGS)
        kind = rnd.choice(["text", "text", "json", "url", "form"])
        t = _text(rnd)
        if kind == "text":
            yield conf, "scrub_text", t
        elif kind == "json":
            key = rnd.choice(KEYS)
            yield conf, "scrub_value", {"properties": {key: t, "items": [{"name": _text(rnd), "n": rnd.randrange(10**15)}]}}
        elif kind == "url":
            t2 = _text(rnd)
            yield conf, "scrub_url", (f"https://shop.example/{quote(t2, safe='/')}?{rnd.choice(KEYS)}={quote(t, safe='')}"
                                      f"&next={quote('https://shop.example/t?q=' + quote(t2, safe=''), safe='')}#{quote(t, safe='/')}")
        else:
            yield conf, "scrub_form", f"{rnd.choice(KEYS)}={quote(t)}&a={t.replace('&', ' ')}"


def digest(scrubber: Scrubber, method: str, arg: Any) -> tuple[str, str]:
    try:
        res = getattr(scrubber, method)(arg)
        shown = json.dumps([res.value, [r.as_dict() for r in res.removed]], ensure_ascii=False)
    except ScrubError as e:
        shown = json.dumps(["error", str(e)])
    return hashlib.sha256(shown.encode("utf-8", "surrogatepass")).hexdigest()[:8], shown


def current() -> list[tuple[str, str, Any, str]]:
    scrubbers = [Scrubber(s) for s in SETTINGS]
    out = []
    for conf, method, arg in corpus():
        d, shown = digest(scrubbers[conf], method, arg)
        out.append((d, method, arg, shown))
    return out


def test_results_match_the_recorded_digests() -> None:
    expected = DIGESTS.split()
    got = current()
    assert len(got) == len(expected)
    wrong = [(i, method, arg, shown) for i, ((d, method, arg, shown), e) in enumerate(zip(got, expected, strict=True))
             if d != e]
    assert not wrong, "\n".join(f"#{i} {method}({arg!r}) now gives {shown}" for i, method, arg, shown in wrong[:5])


def test_corpus_exercises_every_detector() -> None:
    kinds = {kind for _, _, _, shown in current() if not shown.startswith('["error"')
             for kind in (r["kind"] for r in json.loads(shown)[1])}
    assert {"email", "phone", "card", "iban", "ssn", "ip", "jwt", "token", "secret", "member_no"} <= kinds


DIGESTS = """
1650b894 a1f355f4 6db6148f 63e3c39c db657ed5 be1ea80b 6edc0303 d2e30679 b2e7a40d 2d870db3
51ebfd5e c4b0d573 97163b32 de068859 0a6e1e17 d4deb945 01ce506a 31e3b93b 6ba37422 57b78761
8caec00d d2e6bbb8 7eb3e3b0 2f2e35d8 a57d5956 205b34d2 50b8ff1e 529a30f6 4ddc25f7 e85c0aa2
dc79f039 2606e218 9c742fa3 807931c3 75ab8485 3db1998a d45f52bd b568d3ad bf8a8e95 37449c5d
857c80f3 bb75677e a8bf34bd 916d49a2 3869f7e7 84b5b14f 3bc907fa 47d48f47 d14f4483 9c612b8c
f1613e1e 56dc66e0 82e46718 e4e7720d 1360ead1 db1f76df c7d25afe 09e4a335 0c013abf 7ece7707
c9937492 77bc6bbf f8763521 5a47783f c3307bdb 7fd2e405 fe53f569 cedf1a36 e1f6eb59 2f4ad153
5ab91ad3 bfb24acd 817d7e3e 11949201 d92e469c ef3ce7f3 c314e95a 41715fd0 61255e16 669b5349
05a8b06b fa3ff877 b3cd88ab c470991e b2fb295b 4e288104 dea347f6 18109b60 15f7eed8 d0946453
4d3162b3 162e63ea 1f8b451a 823a20a2 04370fc9 421c6b1c e0c3e2d2 5126b172 5e1e21e3 0b11390f
4767f76d b9e22375 2e6b273a add04e00 63ce1bfa cda0952e b2cdbaa2 05967628 7da682c1 d0b8a55b
7c302d5a 98e695ec 11a1a242 a6f8a98b 744883cb 9d27d207 a2f3d01c b8d6e7b2 109bb199 0b65ea97
95760fee cc430a7e b2d9be13 dc02066e 1ab21c62 2d9e4250 985506d6 3c5de976 bc22cb0a 4b9a4bc7
cda0042f 297c98eb c6e781d1 470834aa 356d09c6 43890df2 33a04eba e108f8e7 6039bdff 3733d058
59497dd9 7aba2fe5 7699100e caab4053 c4c1a34e bca4d8ec 971a64bd 0810482e 3a31ea19 323ff3de
0d03e9e4 5bcfcf80 01f4a1a4 ab496419 e35ef11c 22276105 f29f7e1e deb1a6e6 84122e4a 58d13cf0
3d555cfe aeb6b750 15aeb146 50a07294 d18bc95a a954acda a03f1835 b0aaa3f5 a442d60a 259035d7
9b61223d 901c63ac 184a1a2b 6917f5fe 31ccd840 3d918715 f265e49f 20a0b7a1 6ee707a9 a52a8299
566c1422 f435e360 79ec33a1 9e86c701 211b0787 71ec8644 b7f6781e 6f42f9a3 643ed910 14630849
39f7d92b 5359c286 1be3f7b8 6ba7da2c ec035844 dd756a6e 499452fa b481538c ae77ce78 53658948
475e1833 38a1b9f7 2d5b8d4e 096c0d3d db60ae26 17a97bc4 3aac975d 55461180 d40e6a9d b528c030
63beff8f 77db2e4f e8976dfd c08be585 17bea7e9 bcb279bc 3cb90b2b f4031985 4ae9a277 1c8e6a66
bd56d9a5 f36f4130 80e8907a 1c7cfab0 7a281f69 3be7c515 f311bfd2 e93bc8fe c28fb809 0450ae5d
733244a7 decbb506 8dd6f275 e971eb29 62aa45e1 e89af213 c47199cf a0c41f40 ab02c3c0 799fffe2
8ddbdd52 6391d2d9 301ac14f 39a8c0e5 3039614c 02266c56 8de84cdb d52060c1 060bba3f f7c9a869
75bd684a 4cbcd88d 49fa7372 81eb9d6e fe2822c7 a624c2e5 b5e4efd5 42509592 40cd4c1e 76503bc8
a3a2d163 90a162f4 54318571 86cedf33 5f7d5551 1a127b6a f778c4a2 e74337aa 8ebb4095 0f5e6e04
e056adfd f17b0af5 985363b5 00c0694f 6bc6a3bd 70565e89 547e834d 57160de1 f1afdf1f 63324fea
d7779817 1877ef6a eeab229b 32a45f8d 55bbad5e 3ac056a7 d8ed93a4 d29e683e 02e0ba18 d3982f79
6bf94f0a 85499a7f d6e37d2a 3471a0c5 8ab8ebe4 686283d2 9e4ea90a cd00e52d 39cba16c 84a9de0a
e9ae14b5 7b2715c1 05f87284 a0cc6bf3 cf8551de 6385942f 253b6441 a6b4e1e0 6e0f5497 fd5f7239
a6876fa5 b9ac2504 efbbf679 94cb09fd be3be39f d4a76c9f a68bb185 b5c78d34 f72f0498 b344180d
489edc0a 25218196 e3af27e9 d7921c8c 51ad4fea 5ce2330f 4fe79309 aaacb3c1 8529fdb0 98fe0c1b
ec09003e 00550ec7 60627523 620b82ac 6ec2ce48 3e6c6f32 7d729bad 175aef2f f41abc67 f8c8008d
6bbdcce5 d4992ec3 8acf0049 3fe3cc7e 9724f93d e09c0e10 ef918a4e 782bfee7 16718a7c 31925b36
dd5a67e2 e6f9be7b 1631c7cf bafd95a9 5181103d b9b965c0 25e3f5ee bd47224b a21d6abb 549ed7d2
e33e1009 5cd18eb8 4e56b6be ded5ffc2 6ab1dac1 db315e0c ce3b5e59 5adcde0a 3ef78b19 4c0586db
ca3b9b71 dc3e8cb5 b1c260b5 c7c5b32d 98cf4f62 bda09280 868363f7 1bcb630b a2852fc6 b282b6c4
3b24d313 fadb1313 55fd821f 7c339b7f 58f78b03 b62064ca 929d0245 982494c2 e4738458 17ad26c4
47741d98 36eadfda 8fc5043f 5767c8f8 d2cdc0fc 8439ddd9 6d8c9a56 d3363168 90bdd37b 23a5074e
6a468c50 da40423e 838d28de 867743fd 75d9de08 28fff0aa 0f6ac59b 5c9b4c55 0ef8c609 0bc09222
58fd7570 968f02fe 47e7a2cd 96a279a7 5e613bd1 aa77cb59 2425459a 830539b3 fc209511 112a71bd
b6a4c1e2 07982cc2 4fb330f9 3155f268 db753baa 6d4d154b 39654ed9 1ef09b14 86348b8a b96a2956
245e8fb4 7fc54a7a a3e8ea1a a7be5da3 b328e11d 5c8ba587 64b060b9 a78024a5 e910c341 cefc1553
9e8f06d7 c692550b 844df620 c30f5e68 ae1a8825 4a41ba00 4c9a3124 dd68e7f9 7b78df61 27dd2481
4f1fa2ee 57ba0f9d b6b5d5b8 d69ca72f ad94de11 a2a8880e f29b7c85 01ee713c c3483b86 3ffdd104
7ec205ff 72dee7ea 43ff4f0b e85d5080 d3d474ae 826faabd 35da4a1a 58414189 54878bae 8dcacd0b
124f9688 bc210063 bc00a435 2a29b8e2 77887032 5c0981e6 211a63a9 d3f5795a 1e007921 3562163f
00c0d43d cd734e76 b0f6c49c 47b08f5f a16de9cf 299bf0e5 31fb76e9 13f90c03 01b6c438 894bd168
f8cc5c76 988910de c7d4dfdf 55e40bff 15784af0 9b9994bc c33e701b de7500f4 d26cf007 d3538d47
fb9ac22e f3c1ce8e 6892948d 52d2cfdc 2ce69d49 e4832386 a5c69ca1 a084d2cc bb2512ea 88ea89b3
57f741cd 8da0f06b 371314f7 d82ea538 dfbd027a 758bca58 6d122369 9d1b2ba6 43e90db1 145af10a
0c7ddad2 7749ecc9 a2d99e38 74e340c9 5d84088c a4012182 fabe7e0e 54c5393d 16e9bc7a c395399c
0392b11c f40c0f39 921f814f 9068cda4 a6595f6f 24a915aa b0b2104d f901616f 3d574329 3a1f73e3
af37a9bf 43a7d60f 3de50cdc 07629d3e ca4fa487 b8573f8e 58127f01 ee5c74a9 43f6eba4 63bc2d4d
34e9cd82 cdc1cbf2 079fa8c1 3eb69e7d 1102c70a 69ceb4a3 2598baf2 adc34a65 4d0688fa 1cf0a6e6
9c88c83f 360300db dd12f889 2baf3c63 45e4b766 74a587bb 8d32b6e6 1af0d7e4 12515c93 fad2f113
0f3bb6fb da1db1b0 17926c2d cdb90052 aec4abd7 0fc8297f 31fc0899 d6578b94 097c5874 36870560
8857f412 59aa0ac8 156f333a 21545b20 fb6366cc 2fedb5aa af291a7e 7e55f716 f9cf1348 c868cda0
774749ce 869f3092 c98da365 2ac22a69 3d8478dd 32eebd89 b3ac3add 134d7a61 0a64ef82 551c1886
cba27a40 a56256c8 dfdc5100 e88cf497 4826bdf6 8e8141f2 e3f70b7e 6777ece3 35770589 7026e2f2
4af8f612 d1dcd5ea 836f8a24 df9dfb1b 6b0a76f5 78e9f454 3ccc7ba9 c90c22ff 41110259 79a022bf
795b04de e51416e1 64c0181b 66517f04 156a20e6 7cd0244f 6520bfee 2656b92b 0fa33b09 d0e08b5e
d5bfbfc7 562761c1 d92c2331 03177e85 b50de19b c517f7b8 d7f2ddd1 4c80c591 d3f2aa13 4dd099ae
93335c50 73b92b93 83baf1fa f8d25873 984cb5c0 a124faeb c3786b80 a0df22dd b349ca91 c86eb2b3
5859ab6c add1270b 8579faab 270a445c 33b3ee37 f4dd43ec 6aa2bcda deb716c5 028cc735 4cff001c
9a5569d1 39e5379e bedb813b 197bbdbf 53061e57 f6b14591 b32bdf54 4b6517df 4e9a027d cb7f2ac7
1e64b35c d767e407 6ec689bd 2723aaff d625fa3e d943bae7 c88c1abd 46643d4d 0c9131d6 fb2d5b15
14f0cb96 32c5de79 940b265b a1b172c1 dafe54b0 2f44b3d1 ebe908a4 4dc253b2 3a69b6ad 250389b4
3d8486a9 cd763752 f65abded 07537b46 d766a2c2 6bb4fcfc 664c969e 59d0bde3 46f29c35 4cb5acab
a051ab02 0b3b59e2 69fe55e7 df520aa0 00306972 183e06e2 129fe98d 622ada2e eb769589 1277a395
5d134dd4 61fc110c 56c4946d 34553da8 6d2268c6 4fcf7815 44ef182d deb63c9e 9098e1bc 9b3a1031
7f18ae17 aafbc25e 613e3106 ea4c95e4 6fa6d54e 20a0b7a1 57da2ca5 33b7f88e 7005a83d ceb70b75
eb4d0549 a493fc62 ec29282d 4d28c120 f586940e 54bea74f 47590799 bbac22d5 b2f43771 9e14fc9a
144e6198 b4a79ebc 34bfac57 476fae46 4a52613a 7f5ced52 778e2b57 c8f0222f 710e1a10 cb895c70
8f94407a 457dfd75 d1f401cb a04afede a39c6627 0cb2aa9a 72852036 f01cd7a0 0c592e11 39fcd4eb
6bb4b294 eebc3bb7 7e09e12a cc2455b7 cffaeb82 fc04ccd5 e68692fe d50d7e33 433640d2 733ca5ee
f58c0c8e a1e526bb 07c7fdef cf630681 a7448c1e 350e69d6 07fd3bbf 6a1ce16b f9a588b2 36251585
ea48267e 1543c3e1 f9b5604d 51f7523c 88c7b2a1 1c2dbfac 14645fbb d8638e10 ef434955 ad4fed5c
6e1c4c28 68adedf5 fad41e8e 7217abaf 6d4d154b 9a2fa40e 196e9aed 8fecfbc5 5058bf71 3dd663fa
75d43650 d61d1876 a07c2f5a 3ef7a0d1 852d549f 2a5ad61a d1fc71a3 add1270b 6913dd61 1810119d
b14f3306 f7a16779 221d6d84 53ac6b48 440efd27 7065781b 518f6836 eb4d6590 60ee3f19 caa2c7ea
a6b00226 f95a5115 927c6413 b6dad942 08b97de4 2a8b1b84 25a712e1 a3cc868c cca35f8b 7c9a0d28
5b85ff32 528cd95f d467b693 b7a4cefd 8db865f0 758a160e c2a7e01d a9c9e310 19f5b25d 4e84ef35
d95295d6 e23fcdcb c4014038 11fa716f 99fa77de ede1303a 4198075a b5424e91 9a9c1a4b d0f9c8d7
897710bb 37178ad1 17b6d20c 10c2ce35 11a056fb d0a442d0 d1fb9c7e dfb2c768 337daafd 52e44fae
2d84b3f5 f60ae3fe ab77ad04 358751b4 de40c9cd 9e8c5e0e 865374f5 20518533 de86ef9f a002172a
5eb0174f c6b7d4f2 0c4ca7c0 8bdf1eea 0c45bf97 87f9db83 42c20e6b 5d0591c0 377fa39e 457dfd75
e38764e6 66ff0b8d a6500459 bc381ffb bb8e3c23 8d00d441 0c9cd388 63e7a561 74eee545 d2351b2c
86239ef6 1581e4e2 0c2d7e66 c7dce5df 860406ed 6e348e54 57c3faa5 d7f159e5 16d75c59 04172f75
52f1a7d1 a0a1f94e fd22d6a8 8733eaa5 8c18215d 1ab476e9 76fdba7a 445484dc ae8be9af 8d2bcd1b
8c2c1e77 c6120d13 dad18ebc d45dca2c 83a0467e dbb5791c 2eacd1d3 8a03a7a4 93b58158 298dfe5a
c1a83107 6e1bc1cf e95d26d7 a6d8f803 ca2a8ebd 804c1a82 3079c72e 8dcdcce5 6e93905d 77980cad
949200fc 0c4e72a2 9e6bc09a 5132034f 2e5015ba 39658dc3 bdbd7a66 9716561a 57783c1c 57aa62b9
62481fa2 799adb89 9e4e0f22 c5dcad55 2a3cf536 cb27a91f 47690954 e0218388 95c700a4 f11f2518
a817c2c3 ebf8f7b2 a7534fd0 912a8393 b6649736 0c62eb1f 7da48f3c 888e3542 be17170a 4bfc11e7
2939227f 7c828f41 2696e64a ed1fbded cd25d4fd 02e4af79 eb5f1d11 28c52517 fc0d2d1b b9d47939
58e57927 33582956 89da7637 09850783 fdd289b1 fe3c5d28 3f9bb65d 2fa8ca01 b21be4f8 7599ff40
4c4410b4 7079c4d6 4bafe5ce d27b6117 1d2abd10 20129f77 fecfce78 21ffd8fe d26715ac 781b5611
f5d6dbb5 493d578c 8d76b5a2 4b12f6a1 20660ef6 4938e610 4284158c 187f875a 54d2c4cf 03e24b76
947f0374 6c3aff05 4a4ff357 8ad44431 8a456ff0 3aceaeec ac7f9cdf 23f01550 0c67d4f6 13b65da7
d7b52680 f77e54ae e3a82175 09848f93 902fc73b d4fd4c90 0eaf3504 5d578eda aae00ef7 9d968861
e1ef4722 b0c87873 96fd3c7f 8cf7d8e8 e2928f06 7fb854b7 02fc3e49 a40eedcb 2af42416 bb2d3228
1909dcf4 3ceb24fb 1fee4c67 9e3263c6 47969909 f619a895 6241ab8a 290a7ac5 c6e922d8 46511853
3a91db92 09ee8b0d 7cf1b12e 4261f08a 6163e882 6dfac09f f4548660 7c3e6471 74a6b8cb e7e278ac
cc2326a9 c9eb953d 9119643d 30755c54 bb5b5a7e 060b1ff2 3e3b54e9 a03abec5 74c8d5e6 fee77d5c
07ed0257 74e0ae53 66f05aea d043e3ae d5633cdd 7684b912 35710b4b 1db0ff6b 1760295c 9068a672
a17f2b83 dec3a4f9 824bd3d2 1f0fc314 0bbdada0 ca8df688 c46a6766 1f8fe172 e220dbb0 bfd66348
e44a6da0 08dbd31c 4d71f6b7 f1f81151 cdfd2244 4630e981 81d27e20 87debc6e 457dfd75 614d2869
e6c75966 6c91d7ff c2116604 8c458caa 37b31c75 bb397155 fdfd38a2 8618d24d bd760c1b d82c8749
c68d9df5 c27da717 c9671e4d 1a97f698 2cdff1a0 7d440ab5 c168b00c 5e926e4b c9a3da5f 90e50916
264f6d2d 49086daa f1eac339 ba5b4fe0 fdf6a352 c4689bcf 0b58d277 c9a601e9 dc3ced48 c8dca35d
46f7a0aa ed1335da 86e539ad 27836840 610586cc c50d6bbc cba8f37c 41992da6 20e8d1de 9e0f2f29
e7135cb7 fc8bb230 e2723421 7e3f6494 ee96c085 520e4c1f 85df7d3e 59963361 b6fb106a 10697e0d
4c5fa02a 87e64ad5 06fba16b b34eaed2 c404131e d504bc6c 0cbd0330 963d8f09 adaa9465 954e6411
9d6fe4fe 7bb2fb12 ef961e42 bd255cb6 6ff978dc 5cecf400 71053db3 43f54f8a 9d11b1a0 e82b27b3
2f3fb0ba 3e6068f4 5eb9b861 9611240b a2c049df 0655662f 77903a37 dbbed8c8 985e0b3b d7dbee30
2593346d 160518cf a213d843 d361d824 67bbbccc 4f2e7c69 1b4afc2a 57f7f394 ddb9ffc2 b08090cf
c0ba78bc d3ac3f8d 6779d4b5 10154d7b f6189098 fc8c6c23 e05ed838 f0c29a4e 79e9f7ec 80fa0618
0abe6812 1bba5899 91a35499 c133c94d f8a1fac1 8d3573f0 df0ee45c 56e7d30f 7b8c66bc dcf031c5
d65da165 64981f52 6f3c9b3f 4449bbba ee66a16f ff325807 ae59ab97 5c96c98f c0056ef9 9dcc03b8
16f70953 3019d652 45bf07a3 746d4d20 cc96a253 a8904aa5 3abd554e ceccc9e3 27094b78 6d5f35bc
cb7eadd9 264fbe14 ba31900a fd1a4e53 dcf81959 298ade42 416c69c7 98b917de 2141a7f7 30ac2c71
9b40d28b 5a4cd054 96736ff9 c4125d13 044fde86 a16928f4 18b130ff 1cbef01e 26718a35 d6ca22e8
d7378556 5e3b843b d9831c41 1082c7ef 9c7dfb1e 48272851 9c2fd2ce 08a4b9d5 6a3631ba 4cc880f8
05e7fb83 34ff084a 99fd3635 ad091971 5e77e9e2 1935d53b 1d2e2725 146c8674 438b4920 445422af
8ef27625 36e1f881 beff840c 7419b813 f648856e d71c884c 275284d8 c18cc6e6 f57cc7db 244d3fa1
82e37f44 37dfdfa1 96bb3758 9693ba68 5ca6f766 70790c6c 0c0f5f44 8d18924a 922f2d01 f88b0c3c
f033a31e fc05cb20 6349ce19 4d2eeded af1b587d a405e323 e17034d5 9271a0db cf39c117 11a0b0ef
8c2a17b7 460d9b4d 7a4c4c4a 7dc96399 2bfa78a4 9b0cd9a6 afc194e3 4850145e 4e704ff8 9fb20b6f
a0b0f3de 16157757 f9aeb596 f37a51d5 7fe6bc97 c9a3a63f 12b8dd09 c9817bc2 8213c8f6 ab82ec74
7260d22e caf98fa1 a801d8d5 e09a2426 7e25f357 019d6ecf 886744d8 7f2f270c 795f9bd8 7461bcd3
0e840fa5 2c6dcf8a 0ba0d757 d35e7698 48e2e2be 2bd0ef96 78f97e4a a968181f b4a28a44 73b39874
261defcd 1e688ac8 84d5dfbb 97c9294c fa917f8a 69cec76d bdd70eda b7a1959b 5597daba 2289d120
20d5af49 02693e32 aa0f24ae 8302ae07 04582c69 457dfd75 7ad5b0e9 20000754 dab03bd6 0e8081cd
ff10313f 961d666d 5d437533 44b89157 4174387d 542f3607 3b5882cd 2eecb00b e95c1460 b6dc7841
0c0f7ec8 0f7ba353 64f4c769 d2c245e4 593348f8 ac458ee1 1c5f518c 5b2514a1 1cd6f60b 1bc4f52d
c551d914 d7fb16c5 457dfd75 ca9c1197 b734c001 62fadf45 807d4775 38610fef 43e90db1 0e029f2d
c8335f42 69b18d1d 753a8f5f fad6214f 04a33168 96848e4a 09c14a85 ddfc4402 3372f1a9 92e11908
6b6a56f4 67abc072 225a1bdb 31ac7c0e 0d17fe0f 8ba92815 53075ee8 d424edaf 2dcfd60c 7e2bb75e
6752a134 c61e314c 1c15a118 1bc50f84 62dfa353 7e8f2958 8edf947c 041ea4cf f39d6e43 433a0a3d
0fd85f99 406f3e4c 039eff51 6bcfa248 73dd7065 c7f384d7 f3869e66 ed2bb3b3 27bd9614 70d517d7
b15a408d 79abeec9 98b6975c 6e5bd884 deed6284 9e7802be b11b852a 1d2ce4bd bfba05aa 7894a6cb
d2bcd361 9ad25b8e 68a470d0 92537699 9637c18e a3af61c8 aed38ea8 ae73e628 27848d49 04feeb89
ed08fd8d 302155e4 117109c6 f828e27d 90da7eb5 edb56cc8 9e1e680c 2ee3fefd fdf811a4 21d0968a
1371f7d2 f5964e65 b38eedce 4077d80b edaf0e31 14ef4481 ef3eb4cb 840d079d add1270b 7b09493f
56b6b44a af2a1196 85b497ca d81b0fd0 eae9c827 ea8f32a0 dd812691 7e636263 c4afbadf a0d10860
1bfbaa8d 1d8550c3 7112c7d9 533e8119 49f5d0fa d409a10e a9df8cb8 1e2a932f 244adebd 162610b9
b32759e2 d99702ec adc9dd2b efb8b1b4 56279591 7fc66671 2949233b 5b6b9488 1d7a03cc 039d4d76
9fab119f 5c6da6fa baf98559 7155b8c3 cb0193be ee385911 7e124e2f ba111871 242f27d3 4e531c6f
b1242881 560755b6 fb4c0838 86554cbe af192f73 7bde36f5 7a5f3581 42f6bc34 305ea317 86a7e4d8
11d78f65 83b27fe4 efe89f6e d68f9437 8f4e0f25 40450fb0 bc9ed451 6508c27b 9836e8dc 591bcf06
82ec07d0 a0f692ec 021f44bd 9f7643cc 884e29ad e45c4b50 31aefe43 10c95f8f b3d1fa19 23a50c84
1b646594 c2aea527 328ee4d5 b0a463f6 3935b3f4 6c0d5ccb 2b4a4cd7 faa592f5 9a1e6549 e2ce3d86
a65b387f 0ea11ab2 e2d49305 705da03d 48167d14 2a0ef580 16c82f84 23070e11 1a63bf7a 61548029
7b1b9d18 70f6420b 68f18788 94e3c0de 1c99f3eb 804d9a84 4c4c7bf1 97bcb4e1 42296aa1 b5b011f8
0e689aec 2fedb5aa 3c4803ba 799b83fa e15e6aa3 aead51e2 bf8ae33d 0476f6be 7b128e87 b6bd27a0
3bcdf24d ab0a6210 e51e684a 1ccb4dbb b5c7378b e896e2c6 977036c5 46368663 6839d6b3 ac3055fc
b72b04e8 ae58b1d8 ce15adb5 c301800e 27366842 13015944 8ce08899 60279bdb b311953d 7200fb68
90d0439b 69cb7d0e 3ac68115 ea372612 736faeb4 85ebcec2 1fb1553e 1e819e60 63d2a4dd e2a9ea31
d8848672 53596b79 8c5bd44b 109d6787 a76f6f5d 366ef023 d3a16608 a5d4ffae ab54c4c4 ade54d70
4034848c 65541269 aa6fadd0 45690f95 0eadeae4 9372034d f639f87f d9b5d9e0 104dd128 4f6d65fa
11541782 5ed9fb27 42dd0420 eb4e75d4 42f4c01b 38e92b1e 9101fd81 0aea8e62 7ea8b09a fca83b0c
038cf78d a28c0382 b383904e 783da557 ccb870be 74eee545 9ed557ae 062706ed 678c3b68 34f23469
1d936c89 94fca7d7 4597d121 14aacec0 039d6bda df2ed38c 9c43db03 23d9925c 3ada45d4 8908c411
6dc0ecb8 fca2b591 bd7d7d2d f4f96044 e4f72993 7e88dd0c b0dca599 2ffc4fb3 b69102f1 266fefbc
4d9204d0 b765f03e 3e7bcc73 34fdb195 0cc268d7 56200ae5 82265d2d 86afca55 97e20ebb c98dbe1c
a219915f c9ce530b da1f858d dee3f4c8 cf870b38 46d30e53 fb1360cd 773fc62c 942a3695 0d1c8d8a
d16f8b5b 9a0458c8 ee5c6ed4 9fd439b7 708b5a33 e530babd 455a8ffe a351b8f6 71c3e6d6 37433124
422b4fa1 45238cbe 0402d1d5 f7483c0f 8db81457 da79bf5f ba4432da a2829033 2cb5cd2b 351c1c36
a731c87e da238f17 0a83c9a1 4211626f 51dbb447 a8e81fc8 5a9ee636 4b686f84 1ebe2833 9f2c04dc
aaa2540a b783a2fc de7b30a9 1015f1b2 f8b15c5c 611e23f7 5ebacdf1 aa87356c 83b76d72 a2940802
b803dc7e 07d0f355 7da96956 1def0c54 43411396 8163370c 6b32430d a691b6f8 a48baa05 59c18eac
cbefa500 65203533 344a2a07 237e71d9 973cd165 abdbf782 b1116668 8442b6a5 da939d16 b7b65e7a
3900af3c 48799bda f946b6c6 b22ebcec e0983982 23ac9a91 c3af59d8 a2b5c487 6a251545 dc166b6a
22254b62 eab0614c 4839ef60 a75c77b6 da57721c b9fa0ffb a2f025c4 9ebea769 430da958 7317f3a8
214769ea 91214f22 73a07306 740cf2f6 eb4050f2 de5b01d6 73124c40 9b4dd632 473a4e1c ceb0f3ca
d4e8b9e9 3c7a55c8 81a54e87 f045d63a d671320a b640ce69 057af02f be266a0d 83b5f61c 029f2754
c1c77ba9 6a2bcaca 4614e3a0 7fd220a6 1c0872be 23657c34 4fbf3aef 3add622c 96106e6b a3477dca
2573b648 2065c39a da23b0d7 aa34d2d3 da5e9aed 87b89fb9 52f9cb13 e5bbe8eb 69cc424f ea5a415a
70e6560d f8aab432 c59a555b ae0819b8 d71f7ec1 b15be1f3 56346a9b de7bc5b6 998d3f5e 8195663c
5f50da6e fdb28f65 95014901 eea5cbc7 5a213c2d 9150b78d e97db79d d4159749 4bf9a1c4 b39b3c93
7a5c24f8 0fbf850b 791d0411 1bb1504e 944bc4ef 8d22ab3e 2f5c8f9f 0a2883cf dbea147e 42d24ac4
79ec7e90 91c5c913 ea8d2ae3 6d1ac78e a71a9dff 40db9d81 dfa92494 dd81d74b ae61ee29 6a406b26
0edcd234 5acf4b95 72155dc6 3022f0bc b851007a 17ab5195 1082c7ef a0adc0b3 a4c4714e be656d34
71f5320e 0aac75b5 89742d92 97133cbb c3871d7e df6a81cb eb51766b d1bccaaa 31ffce5d e32eb2aa
e07c8c4a e55567a7 a0eb20a6 3cf65655 47b56a75 83587323 3f9ec8b6 b0886c6b b57ac6af 05e73e78
5dafe221 5448e93f 13675912 ac785c09 36ee881b bb20d9c4 2caf54c1 3b2e0520 1a7b2b04 d2cb45fc
2bc3519e 27b62aaf 48c1150d d8d5fa6e 6ed39985 26e3e671 9c084083 f28e321b 0843e802 dcd74bbf
cff38f71 0679ef51 c8288dc5 4d67f304 6c3e75d1 ba0cbf85 3c6a8f3f 36024f57 df5b95fb c20e148a
38835760 de299af4 0d5734dc 0293294c afa35e77 ef9680ad 82cf8919 1b212aa5 f588ff7e c1130d82
00b7c3da a7a5ec6e b025a44f 023c4c3a 3e16a7b4 8fc08174 a0adc0b3 684f5529 d1375cd5 d34fea3c
ef1f30ef 5a5fcfa0 58aef0c0 59d797d5 7302f00c ecb27f05 6de8de85 5a99e8df bb5c449f 4d0bf4e5
b3d0d070 6596ddf9 d8da6c16 bd2cb90f b272751a 4480fac5 40e57340 81233c2b 3965eb86 3288451e
59056df7 690ad998 3cd20a7c ab37bd03 4ff7676c b93bb5df aa43bf15 b0b69e15 628a1744 a44e18b3
1922780c d2d8d838 2ed98316 761147b2 5d2e6c26 77453f3b 0ee01d70 2c173bec d76dbca3 3f317a86
515318fa eb7eaf0a 863ea0e4 f53c88ad ed1335da 5a228311 5cb2c2b0 e8b5ab4d 4081e3de 72e8c4e6
43f471fa ad77b85e 0974432b 8a6dd131 004b84ea 93056f0d 48a91dfd f6973a5c 9caab2c7 38fe1756
7feff2ed ad2fc420 46383f64 e55d0319 e0cfd4e9 440efd27 eeeea5fc 858455eb 9cd22b6b 76f96163
89076597 06aff423 8032c3d5 3a472898 1a3481dc c1e4a6b7 b1d34524 e75ec377 9fa46b13 d2b9b37c
"""

if __name__ == "__main__":
    digests = [d for d, *_ in current()]
    print("\n".join(" ".join(digests[i:i + 10]) for i in range(0, len(digests), 10)))
