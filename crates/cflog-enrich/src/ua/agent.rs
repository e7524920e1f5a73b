//! What a user agent says about its client.

use std::fmt;

/// A parsed user agent. Fields the agent does not reveal are `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Agent {
    /// The browser or client family: `Chrome`, `Firefox`, `Safari`, `Edge`,
    /// `Opera`, `Googlebot`, `curl`…
    pub name: Option<Box<str>>,
    /// The family's version as the agent gives it, e.g. `131.0.6778.139`.
    pub version: Option<Box<str>>,
    /// The operating system, e.g. `Windows 10`, `Mac OSX`, `Android`, `iPhone`.
    pub os: Option<Box<str>>,
    /// The operating system's version as the agent gives it.
    pub os_version: Option<Box<str>>,
    /// The device class.
    pub device: Device,
    /// Whether the client is automated (see [`bots`](super::bots) for the rule).
    pub is_bot: bool,
}

impl Agent {
    /// The bytes the agent's text holds, for a cache's memory bound.
    pub(crate) fn heap_bytes(&self) -> usize {
        [&self.name, &self.version, &self.os, &self.os_version]
            .iter()
            .map(|text| text.as_ref().map_or(0, |text| text.len()))
            .sum()
    }
}

/// A device class, as `ua_device` writes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Device {
    /// A desktop or laptop computer.
    Desktop,
    /// A phone, smart or not.
    Phone,
    /// A tablet.
    Tablet,
    /// An automated client; every agent with `is_bot` has this class.
    Bot,
    /// Anything else: consoles, TVs, readers, and agents that do not say.
    #[default]
    Other,
}

impl Device {
    /// The name `ua_device` holds.
    ///
    /// ```
    /// use cflog_enrich::ua::Device;
    /// assert_eq!(Device::Tablet.as_str(), "tablet");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Device::Desktop => "desktop",
            Device::Phone => "phone",
            Device::Tablet => "tablet",
            Device::Bot => "bot",
            Device::Other => "other",
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
