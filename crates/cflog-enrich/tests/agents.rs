//! Real user agents, one of each kind a site sees, with what a person
//! reading them would say: the client's name, its device class, and
//! whether it is automated.

use cflog_enrich::ua::{AgentCache, AgentParser, Device};

use Device::{Bot, Desktop, Other, Phone, Tablet};

/// (agent as sent, ua_name, ua_device, is_bot)
const AGENTS: &[(&str, &str, Device, bool)] = &[
    // Desktop browsers.
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Chrome",
        Desktop,
        false,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Chrome",
        Desktop,
        false,
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Chrome",
        Desktop,
        false,
    ),
    (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Chrome",
        Desktop,
        false,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Firefox",
        Desktop,
        false,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Firefox",
        Desktop,
        false,
    ),
    (
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Firefox",
        Desktop,
        false,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        "Safari",
        Desktop,
        false,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        "Edge",
        Desktop,
        false,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
        "Edge",
        Desktop,
        false,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36 OPR/115.0.0.0",
        "Opera",
        Desktop,
        false,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Vivaldi/7.0.3495.15",
        "Vivaldi",
        Desktop,
        false,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
        "Internet Explorer",
        Desktop,
        false,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 YaBrowser/24.10.0.0 Safari/537.36",
        "Yandex Browser",
        Desktop,
        false,
    ),
    // Phones.
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "Safari",
        Phone,
        false,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
        "Chrome",
        Phone,
        false,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/132.0 Mobile/15E148 Safari/605.1.15",
        "Firefox",
        Phone,
        false,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/131.2903.68 Mobile/15E148 Safari/605.1.15",
        "Edge",
        Phone,
        false,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        "Chrome",
        Phone,
        false,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.104 Mobile Safari/537.36",
        "Chrome",
        Phone,
        false,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
        "SamsungBrowser",
        Phone,
        false,
    ),
    (
        "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
        "Firefox",
        Phone,
        false,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0",
        "Edge",
        Phone,
        false,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 OPR/86.0.0.0",
        "Opera",
        Phone,
        false,
    ),
    // Tablets.
    (
        "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1",
        "Safari",
        Tablet,
        false,
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
        "Chrome",
        Tablet,
        false,
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Safari/537.36",
        "Chrome",
        Tablet,
        false,
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-X910) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Safari/537.36",
        "SamsungBrowser",
        Tablet,
        false,
    ),
    (
        "Mozilla/5.0 (Android 13; Tablet; rv:133.0) Gecko/133.0 Firefox/133.0",
        "Firefox",
        Tablet,
        false,
    ),
    // Consoles.
    (
        "Mozilla/5.0 (PlayStation 4 11.50) AppleWebKit/605.1.15 (KHTML, like Gecko)",
        "PlayStation 4",
        Other,
        false,
    ),
    // Search crawlers, the first two dressed as browsers.
    (
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.139 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Googlebot",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/131.0.6778.139 Safari/537.36",
        "Googlebot",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Googlebot",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/131.0.6778.69 Safari/537.36",
        "bingbot",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        "YandexBot",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
        "Baiduspider",
        Bot,
        true,
    ),
    (
        "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
        "DuckDuckBot",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
        "Applebot",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
        "Yahoo! Slurp",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 (Linux; Android 7.0;) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
        "PetalBot",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "AhrefsBot",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
        "SemrushBot",
        Bot,
        true,
    ),
    // AI crawlers and assistants.
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
        "GPTBot",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot",
        "ChatGPT-User",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; OAI-SearchBot/1.0; +https://openai.com/searchbot",
        "OAI-SearchBot",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
        "ClaudeBot",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Claude-User/1.0; +Claude-User@anthropic.com)",
        "Claude-User",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)",
        "PerplexityBot",
        Bot,
        true,
    ),
    (
        "CCBot/2.0 (https://commoncrawl.org/faq/)",
        "CCBot",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
        "Bytespider",
        Bot,
        true,
    ),
    (
        "meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
        "meta-externalagent",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Amazonbot/0.1; +https://developer.amazon.com/support/amazonbot) Chrome/119.0.6045.214 Safari/537.36",
        "Amazonbot",
        Bot,
        true,
    ),
    // Link previewers.
    (
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "facebookexternalhit",
        Bot,
        true,
    ),
    ("Twitterbot/1.0", "Twitterbot", Bot, true),
    (
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Slackbot-LinkExpanding",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "Discordbot",
        Bot,
        true,
    ),
    ("TelegramBot (like TwitterBot)", "TelegramBot", Bot, true),
    ("WhatsApp/2.23.20.0 A", "WhatsApp", Bot, true),
    (
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "LinkedInBot",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)",
        "Bluesky Cardyb",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
        "SkypeUriPreview",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 (compatible; Pinterestbot/1.0; +http://www.pinterest.com/bot.html)",
        "Pinterestbot",
        Bot,
        true,
    ),
    // Monitors and health checks.
    ("ELB-HealthChecker/2.0", "ELB-HealthChecker", Bot, true),
    (
        "Amazon-Route53-Health-Check-Service (ref 1d2b7c7a-8f3e-4c3d-9a1b-6e5f4d3c2b1a; report http://amzn.to/1vsZADi)",
        "Amazon-Route53-Health-Check-Service",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
        "UptimeRobot",
        Bot,
        true,
    ),
    ("kube-probe/1.29", "kube-probe", Bot, true),
    ("GoogleHC/1.0", "GoogleHC", Bot, true),
    ("Site24x7", "Site24x7", Bot, true),
    // HTTP libraries and command-line tools.
    ("curl/8.5.0", "curl", Bot, true),
    ("Wget/1.21.4", "Wget", Bot, true),
    ("python-requests/2.32.3", "python-requests", Bot, true),
    ("Go-http-client/1.1", "Go-http-client", Bot, true),
    ("okhttp/4.12.0", "okhttp", Bot, true),
    ("axios/1.7.7", "axios", Bot, true),
    ("python-httpx/0.27.2", "python-httpx", Bot, true),
    (
        "Apache-HttpClient/4.5.14 (Java/17.0.9)",
        "Apache-HttpClient",
        Bot,
        true,
    ),
    ("Java/17.0.9", "Java", Bot, true),
    (
        "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
        "node-fetch",
        Bot,
        true,
    ),
    ("PostmanRuntime/7.42.0", "PostmanRuntime", Bot, true),
    ("Scrapy/2.11.2 (+https://scrapy.org)", "Scrapy", Bot, true),
    ("libwww-perl/6.77", "libwww-perl", Bot, true),
    // Headless browsers.
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.6778.33 Safari/537.36",
        "HeadlessChrome",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
        "PhantomJS",
        Bot,
        true,
    ),
    (
        "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
        "Chrome-Lighthouse",
        Bot,
        true,
    ),
];

#[test]
fn every_kind_of_agent_gets_the_name_device_and_bot_flag_a_reader_would_give() {
    assert!(AGENTS.len() >= 60);
    let parser = AgentParser::new();
    let wrong: Vec<String> = AGENTS
        .iter()
        .filter_map(|&(agent, name, device, is_bot)| {
            let got = parser.parse(agent);
            let said = (got.name.as_deref(), got.device, got.is_bot);
            (said != (Some(name), device, is_bot)).then(|| {
                format!(
                    "{agent}\n    expected {:?}\n    got      {said:?}",
                    (name, device, is_bot)
                )
            })
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} wrong:\n{}",
        wrong.len(),
        AGENTS.len(),
        wrong.join("\n")
    );
}

/// CloudFront's escaping of a logged value: controls, space, `%` and its
/// other special characters as `%XX`.
fn cf_escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'\0'..=b' '
            | 0x7F..
            | b'<'
            | b'>'
            | b'"'
            | b'#'
            | b'%'
            | b'{'
            | b'}'
            | b'|'
            | b'\\'
            | b'^'
            | b'~'
            | b'['
            | b']'
            | b'`'
            | b'\'' => format!("%{b:02X}"),
            b => char::from(b).to_string(),
        })
        .collect()
}

#[test]
fn the_logged_value_is_parsed_decoded_once_or_twice_for_old_files() {
    let parser = AgentParser::new();
    for &(agent, ..) in AGENTS {
        let expected = parser.parse(agent);
        let once = cf_escape(agent);
        assert_eq!(parser.parse_logged(once.as_bytes()), expected, "{once}");
        let twice = cf_escape(&once);
        assert_eq!(
            parser.parse_legacy_logged(twice.as_bytes()),
            expected,
            "{twice}"
        );
    }
}

#[test]
fn versions_and_systems_come_with_the_name() {
    let parser = AgentParser::new();
    let chrome = parser.parse(AGENTS[0].0);
    assert_eq!(chrome.version.as_deref(), Some("131.0.0.0"));
    assert_eq!(chrome.os.as_deref(), Some("Windows 10"));
    let iphone = parser.parse(AGENTS[14].0);
    assert_eq!(iphone.version.as_deref(), Some("18.1"));
    assert_eq!(iphone.os.as_deref(), Some("iPhone"));
    assert_eq!(iphone.os_version.as_deref(), Some("18.1"));
    let curl = parser.parse("curl/8.5.0");
    assert_eq!(curl.version.as_deref(), Some("8.5.0"));
}

#[test]
fn the_cache_answers_repeats_and_stays_within_its_bytes() {
    let capacity = 64 * 1024;
    let cache = AgentCache::new(capacity);
    let first = cache.parse_logged(cf_escape(AGENTS[0].0).as_bytes());
    let again = cache.parse_logged(cf_escape(AGENTS[0].0).as_bytes());
    assert_eq!(first, again);
    // Far more distinct agents than fit.
    for n in 0..5_000 {
        let agent = format!(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.{n}.0 Safari/537.36"
        );
        let parsed = cache.parse_logged(agent.as_bytes());
        assert_eq!(parsed.name.as_deref(), Some("Chrome"));
        assert!(cache.stats().bytes <= capacity, "{:?}", cache.stats());
    }
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (1, 5_001));
    assert!(stats.entries > 50 && stats.entries < 5_000, "{stats:?}");
}

#[test]
fn each_thread_has_a_cache_of_its_own_and_the_stats_count_them_all() {
    let cache = AgentCache::new(64 * 1024);
    let both = std::sync::Barrier::new(2);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                for (agent, name, ..) in AGENTS.iter().chain(AGENTS) {
                    let parsed = cache.with_agent(cf_escape(agent).as_bytes(), |a| a.name.clone());
                    assert_eq!(parsed.as_deref(), Some(*name), "{agent}");
                }
                // Both threads alive at once: a thread that has ended
                // leaves its cache to the next one.
                both.wait();
            });
        }
    });
    let stats = cache.stats();
    let distinct = AGENTS
        .iter()
        .map(|(agent, ..)| agent)
        .collect::<std::collections::HashSet<_>>()
        .len() as u64;
    // Each thread parsed each agent once, and answered the rest from its
    // own cache.
    assert_eq!(stats.misses, 2 * distinct, "{stats:?}");
    assert_eq!(stats.hits + stats.misses, 4 * AGENTS.len() as u64);
    assert!(stats.bytes <= 2 * 64 * 1024, "{stats:?}");
}
