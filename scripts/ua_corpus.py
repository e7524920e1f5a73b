"""A pool of more than 10,000 distinct user agents with a realistic skew.

Real logs hold thousands of distinct agents: browser builds, operating
system versions, Android device models and in-app browsers multiply, while a
few current builds of Chrome and Safari carry most requests. A parser's cache
and its rules must be measured on that, not on a few dozen agents.

``pool()`` builds the agents from the formats real browsers, crawlers and
libraries send, each family weighted by a rough share of traffic and, within
a family, by a Zipf law over its variants (rank 1 the current build).
``Pool.pick(rng)`` draws one. Deterministic: the pool depends on nothing but
this file, and draws only on the caller's ``random.Random``.

    from ua_corpus import pool
    agents = pool()
    len(agents)            # distinct agents, > 10,000
    agents.pick(rng)       # one agent, as sent (not escaped)

Python 3 standard library only.
"""

import bisect
from random import Random

# Family shares of requests, in percent: roughly a content site's traffic,
# where bots and scripts are a third.
SHARES = {
    "chrome_desktop": 22.0,
    "edge_desktop": 4.0,
    "firefox_desktop": 3.5,
    "safari_mac": 4.0,
    "safari_iphone": 15.0,
    "inapp_iphone": 2.5,
    "chrome_android": 12.0,
    "samsung_android": 2.5,
    "inapp_android": 1.5,
    "safari_ipad": 1.5,
    "android_tablet": 0.8,
    "search_bots": 9.0,
    "ai_bots": 5.0,
    "previewers": 2.0,
    "monitors": 3.0,
    "libraries": 8.0,
    "headless": 1.2,
    "seo_bots": 2.5,
}

ZIPF_S = 1.1


class Pool:
    """Agents and their cumulative weights, for weighted draws."""

    def __init__(self, weighted):
        self.agents = [a for a, _ in weighted]
        self.cum = []
        acc = 0.0
        for _, w in weighted:
            acc += w
            self.cum.append(acc)
        self.total = acc

    def __len__(self):
        return len(self.agents)

    def pick(self, rng):
        """One agent; draws exactly one rng.random(), as gen_cflog's Choice does."""
        return self.agents[bisect.bisect_right(self.cum, rng.random() * self.total)]

    def escaped(self, escape):
        """The same pool with every agent passed through `escape` (e.g. as logged)."""
        out = Pool([])
        out.agents = [escape(a) for a in self.agents]
        out.cum, out.total = self.cum, self.total
        return out


def _zipf(variants, share):
    """(agent, weight) pairs: `share` spread over `variants` by rank."""
    seen = []
    known = set()
    for v in variants:
        if v not in known:
            known.add(v)
            seen.append(v)
    norm = sum(1.0 / (k ** ZIPF_S) for k in range(1, len(seen) + 1))
    return [(a, share / norm / (k ** ZIPF_S)) for k, a in enumerate(seen, 1)]


def _chrome_builds(r, majors, per_major):
    """Full Chrome versions, newest major first, as older agents send them."""
    out = []
    for major in majors:
        build = 3000 + (major - 90) * 60
        for _ in range(per_major):
            out.append("%d.0.%d.%d" % (major, build + r.randrange(30), r.randrange(250)))
    return out


def _android_models(r):
    """Device models as Android agents name them."""
    models = []
    for series in "ASMNGF":
        for n in range(10, 100, 3):
            for region in "BUFN":
                models.append("SM-%s%d%s" % (series, 100 + n * 9, region))
    for n in range(3, 10):
        for kind in ("", " Pro", "a", " XL"):
            models.append("Pixel %d%s" % (n, kind))
    for brand in ("Redmi Note %d", "Redmi %dC", "moto g(%d)", "M210%dG", "CPH2%d41", "RMX3%d71", "V20%d0", "2201117%dG"):
        for n in range(5, 25):
            models.append(brand % n)
    r.shuffle(models)
    return models


def _families(r):
    chrome_majors = list(range(136, 99, -1))
    reduced = ["%d.0.0.0" % m for m in chrome_majors]
    windows = ["Windows NT 10.0; Win64; x64", "Windows NT 10.0; WOW64", "Windows NT 6.1; Win64; x64", "Windows NT 10.0"]
    macs = ["Macintosh; Intel Mac OS X 10_15_7", "Macintosh; Intel Mac OS X 10_15_6", "Macintosh; Intel Mac OS X 13_6_1", "Macintosh; Intel Mac OS X 14_5"]
    linuxes = ["X11; Linux x86_64", "X11; Ubuntu; Linux x86_64", "X11; Fedora; Linux x86_64", "X11; CrOS x86_64 15917.71.0"]
    systems = windows + macs + linuxes
    f = {}

    f["chrome_desktop"] = [
        "Mozilla/5.0 (%s) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%s Safari/537.36" % (s, v)
        for v in reduced + _chrome_builds(r, chrome_majors, 6) for s in systems
    ]
    f["edge_desktop"] = [
        "Mozilla/5.0 (%s) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.0.0 Safari/537.36 Edg/%s" % (s, int(v.split(".")[0]), v)
        for v in _chrome_builds(r, chrome_majors, 5) for s in windows + macs[:2]
    ]
    f["firefox_desktop"] = [
        "Mozilla/5.0 (%s; rv:%d.0) Gecko/20100101 Firefox/%d.0%s" % (s.replace("Intel Mac OS X 10_15_7", "Intel Mac OS X 10.15"), v, v, esr)
        for v in range(138, 99, -1) for s in systems[:10] for esr in ("", ".1")
    ]
    safari_versions = ["%d.%d" % (a, b) for a in (18, 17, 16, 15) for b in range(6, -1, -1)]
    f["safari_mac"] = [
        "Mozilla/5.0 (%s) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/%s Safari/605.1.15" % (s, v)
        for v in safari_versions for s in macs
    ]
    ios = ["%d_%d%s" % (a, b, c) for a in (18, 17, 16, 15) for b in range(7, -1, -1) for c in ("", "_1")]
    f["safari_iphone"] = [
        "Mozilla/5.0 (iPhone; CPU iPhone OS %s like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/%s Mobile/15E148 Safari/604.1"
        % (o, o.split("_")[0] + "." + o.split("_")[1])
        for o in ios
    ] + [
        "Mozilla/5.0 (iPhone; CPU iPhone OS %s like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/%s Mobile/15E148 Safari/604.1" % (o, v)
        for o in ios[:20] for v in _chrome_builds(r, chrome_majors[:12], 2)
    ]
    iphones = ["iPhone%d,%d" % (a, b) for a in range(12, 18) for b in range(1, 6)]
    f["inapp_iphone"] = [
        "Mozilla/5.0 (iPhone; CPU iPhone OS %s like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/21F90 Instagram %d.0.0.%d.%d (%s; iOS %s; en_US; en; scale=3.00; 1170x2532; %d)"
        % (o, 300 + r.randrange(60), r.randrange(40), r.randrange(200), d, o, 500000000 + r.randrange(99999999))
        for o in ios[:24] for d in iphones
    ] + [
        "Mozilla/5.0 (iPhone; CPU iPhone OS %s like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/%d.0.0.%d.%d;FBBV/%d;FBDV/%s;FBMD/iPhone;FBSN/iOS;FBSV/%s;FBSS/3;FBLC/en_US;FBOP/5]"
        % (o, 450 + r.randrange(50), r.randrange(60), r.randrange(120), 600000000 + r.randrange(9999999), d, o.replace("_", "."))
        for o in ios[:16] for d in iphones
    ]
    models = _android_models(r)
    androids = ["15", "14", "13", "12", "11", "10"]
    full = _chrome_builds(r, chrome_majors[:20], 3)
    f["chrome_android"] = [
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%s Mobile Safari/537.36" % v for v in reduced
    ] + [
        "Mozilla/5.0 (Linux; Android %s; %s) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%s Mobile Safari/537.36"
        % (androids[i % len(androids)], m, full[(i * 7) % len(full)])
        for i, m in enumerate(models) for _ in range(1)
    ] + [
        "Mozilla/5.0 (Linux; Android %s; %s Build/%s) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%s Mobile Safari/537.36"
        % (a, m, "UP1A.2310%02d.%03d" % (r.randrange(1, 30), r.randrange(1000)), full[r.randrange(len(full))])
        for m in models[:500] for a in androids[:3]
    ]
    f["samsung_android"] = [
        "Mozilla/5.0 (Linux; Android %s; %s) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/%d.0 Chrome/%s Mobile Safari/537.36"
        % (a, m, sb, full[r.randrange(len(full))])
        for m in [m for m in models if m.startswith("SM-")][:250] for a, sb in (("14", 26), ("13", 25), ("12", 23))
    ]
    f["inapp_android"] = [
        "Mozilla/5.0 (Linux; Android %s; %s Build/%s; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/%s Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/%d.0.0.%d.%d;]"
        % (androids[r.randrange(4)], m, "TP1A.220624.%03d" % r.randrange(1000), full[r.randrange(len(full))], 450 + r.randrange(50), r.randrange(60), r.randrange(120))
        for m in models[:600]
    ]
    ipad_os = ["%d_%d" % (a, b) for a in (18, 17, 16) for b in range(6, -1, -1)]
    f["safari_ipad"] = [
        "Mozilla/5.0 (iPad; CPU OS %s like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/%s Mobile/15E148 Safari/604.1" % (o, o.replace("_", "."))
        for o in ipad_os
    ]
    tablets = ["SM-X%d0%s" % (n, s) for n in range(10, 99, 3) for s in ("", "N")] + ["Lenovo TB-X%d06F" % n for n in range(1, 9)]
    f["android_tablet"] = [
        "Mozilla/5.0 (Linux; Android %s; %s) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%s Safari/537.36" % (a, m, full[r.randrange(len(full))])
        for m in tablets for a in androids[:3]
    ]
    f["search_bots"] = (
        ["Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%s Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)" % v for v in full[:40]]
        + ["Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/%s Safari/537.36" % v for v in full[:40]]
        + ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot-Image/1.0", "Googlebot-Video/1.0", "Googlebot/2.1 (+http://www.google.com/bot.html)"]
        + ["Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/%s Safari/537.36" % v for v in full[:30]]
        + ["Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
           "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", "Mozilla/5.0 (compatible; Applebot/0.1; +http://www.apple.com/go/applebot)",
           "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)", "Mozilla/5.0 (compatible; SeznamBot/4.0; +https://o-seznam.cz/napoveda/vyhledavani/en/seznambot-crawler/)"]
    )
    f["ai_bots"] = (
        ["Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.%d; +https://openai.com/gptbot)" % n for n in range(4)]
        + ["Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; OAI-SearchBot/1.0; +https://openai.com/searchbot"]
        + ["Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)", "Claude-User/1.0", "meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
           "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)", "CCBot/2.0 (https://commoncrawl.org/faq/)",
           "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
           "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Amazonbot/0.1; +https://developer.amazon.com/support/amazonbot) Chrome/119.0.6045.214 Safari/537.36"]
    )
    f["previewers"] = [
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "Twitterbot/1.0", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", "TelegramBot (like TwitterBot)", "WhatsApp/2.23.20.0 A", "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)", "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
    ] + ["WhatsApp/2.%d.%d.%d %s" % (a, b, c, p) for a in range(22, 25) for b in range(1, 25, 3) for c in range(0, 80, 13) for p in ("A", "i")]
    f["monitors"] = ["ELB-HealthChecker/2.0", "Amazon-Route53-Health-Check-Service (ref %08x-%04x-%04x; report http://amzn.to/1vsZADi)" % (r.getrandbits(32), r.getrandbits(16), r.getrandbits(16)),
                     "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
                     "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", "Datadog Agent/7.%d.0" % 50] + [
        "kube-probe/1.%d" % n for n in range(22, 32)] + ["Site24x7", "StatusCake_Pagespeed_Indev"]
    f["libraries"] = (
        ["curl/%d.%d.%d" % (a, b, c) for a, b in ((8, 9), (8, 7), (8, 5), (8, 4), (7, 88), (7, 81), (7, 68), (8, 11), (7, 61)) for c in range(0, 3)]
        + ["python-requests/2.%d.%d" % (b, c) for b in range(25, 33) for c in range(0, 4)]
        + ["Go-http-client/1.1", "Go-http-client/2.0"]
        + ["Wget/1.%d.%d" % (b, c) for b in (20, 21, 24) for c in range(0, 4)]
        + ["okhttp/%d.%d.%d" % (a, b, c) for a in (3, 4) for b in range(9, 13) for c in range(0, 3)]
        + ["axios/1.%d.%d" % (b, c) for b in range(0, 8) for c in range(0, 4)]
        + ["Python/3.%d aiohttp/3.%d.%d" % (a, b, c) for a in range(8, 13) for b in range(8, 11) for c in range(0, 3)]
        + ["python-httpx/0.%d.%d" % (b, c) for b in range(23, 28) for c in range(0, 3)]
        + ["Apache-HttpClient/4.5.%d (Java/%s)" % (c, j) for c in range(10, 15) for j in ("1.8.0_392", "11.0.21", "17.0.9", "21.0.1")]
        + ["Java/%s" % j for j in ("1.8.0_392", "11.0.21", "17.0.9", "21.0.1")]
        + ["node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", "undici", "node", "PostmanRuntime/7.%d.%d" % (36, 1)]
        + ["aws-sdk-java/2.%d.%d Linux/5.10 OpenJDK_64-Bit_Server_VM/17.0.9" % (20, n) for n in range(10, 60)]
        + ["Boto3/1.%d.%d md/Botocore#1.%d.%d ua/2.0 os/linux#5.10 lang/python#3.12.3" % (a, b, a, b) for a in range(30, 36) for b in range(0, 20, 3)]
    )
    f["headless"] = [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/%s Safari/537.36" % v for v in full[:25]
    ] + ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/%s Safari/537.36" % v for v in full[:10]]
    f["seo_bots"] = ["Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
                     "Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)", "Mozilla/5.0 (compatible; DotBot/1.2; +https://opensiteexplorer.org/dotbot; help@moz.com)",
                     "Mozilla/5.0 (compatible; DataForSeoBot/1.0; +https://dataforseo.com/dataforseo-bot)", "Mozilla/5.0 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)"]
    return f


def pool():
    """The weighted pool (see the module docs)."""
    r = Random(20241206)
    weighted = []
    for family, variants in _families(r).items():
        weighted.extend(_zipf(variants, SHARES[family]))
    # One entry per agent: an agent made by two families keeps both weights.
    merged = {}
    for agent, weight in weighted:
        merged[agent] = merged.get(agent, 0.0) + weight
    return Pool(sorted(merged.items(), key=lambda p: -p[1]))


if __name__ == "__main__":
    import sys
    p = pool()
    rng = Random(1)
    draws = [p.pick(rng) for _ in range(100000)]
    print("distinct agents in the pool: %d" % len(p), file=sys.stderr)
    print("distinct in 100,000 draws: %d" % len(set(draws)), file=sys.stderr)
    top = sorted(((draws.count(a), a) for a in set(draws[:2000])), reverse=True)[:5]
    for n, a in top:
        print("%6d  %s" % (n, a), file=sys.stderr)
