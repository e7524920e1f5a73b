//! The page as HTML: minijinja's template (autoescaped) over the
//! [`Page`]'s figures, with the [`Charts`] and the style inline.

use minijinja::{Environment, Value, context};

use super::charts::Charts;
use super::model::Page;
use crate::report::{bytes, thousands};

const TEMPLATE: &str = include_str!("templates/page.html");
const STYLE: &str = include_str!("templates/style.css");

/// The HTML of `page`.
///
/// # Errors
///
/// When the template fails to render (a bug: it is compiled in).
pub fn render(page: &Page) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.add_template("page.html", TEMPLATE)?;
    env.add_filter("thousands", |n: Value| match n.as_i64() {
        Some(n) => thousands(n.unsigned_abs()),
        None => "—".to_owned(),
    });
    env.add_filter("bytes", |n: Value| match n.as_i64() {
        Some(n) => bytes(n.unsigned_abs()),
        None => "—".to_owned(),
    });
    env.add_filter("percent", |ratio: Option<f64>| percent(ratio));
    env.add_filter("share", |n: u64, total: u64| {
        percent((total > 0).then(|| n as f64 / total as f64))
    });
    env.add_filter("ms", |ms: f64| match ms {
        ms if ms >= 100.0 => format!("{ms:.0}"),
        ms if ms >= 10.0 => format!("{ms:.1}"),
        ms => format!("{ms:.2}"),
    });
    let charts = Charts::of(page);
    env.get_template("page.html")?.render(context! {
        page => Value::from(minijinja::value::Serde(page)),
        counted_one => page.overview.counted_in.one(),
        counted_many => page.overview.counted_in.many(),
        charts => Value::from(minijinja::value::Serde(&charts)),
        css => STYLE,
    })
}

fn percent(ratio: Option<f64>) -> String {
    match ratio {
        Some(r) => format!("{:.1}%", r * 100.0),
        None => "—".to_owned(),
    }
}
