//! `iface` and `route`.

use std::io::Write;
use std::net::IpAddr;

use super::written;
use crate::link::{iface, route};
use crate::output::{self, link::Interfaces, Options};
use crate::{Error, Result};

pub(super) fn iface(name: Option<&str>, opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let mut list = iface::list();
    if let Some(n) = name {
        list.retain(|i| i.name == n);
        if list.is_empty() {
            return Err(crate::link::channel::no_such_interface(n));
        }
    }
    written(output::emit(&Interfaces(list), opts, out))?;
    Ok(0)
}

pub(super) fn route(target: &str, opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let ip: IpAddr = target
        .trim()
        .parse()
        .map_err(|_| Error::Usage(format!("{target:?} is not an IPv4 or IPv6 address")))?;
    let routes = route::table()?;
    let d = route::decide(ip, &routes, &iface::list());
    written(output::emit(&d, opts, out))?;
    Ok(u8::from(d.kind == route::Kind::Unreachable))
}
