//! Sets of address ranges and their conversion to the fewest CIDRs:
//! summarize, exclude, range-to-CIDR and split.

use ipnetwork::IpNetwork;

use super::{bounds, network, Family, SubnetError};

/// How many networks `split` prints without `--force`.
pub const DEFAULT_SPLIT_LIMIT: u128 = 65_536;

/// A set of addresses of both families, kept as sorted, disjoint,
/// non-adjacent inclusive ranges per family after [`RangeSet::normalize`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeSet {
    v4: Vec<(u128, u128)>,
    v6: Vec<(u128, u128)>,
    dirty: bool,
}

impl RangeSet {
    /// Adds the inclusive range `[start, end]` of `family`.
    pub fn insert(&mut self, family: Family, start: u128, end: u128) {
        debug_assert!(start <= end && end <= family.max());
        self.ranges_mut(family).push((start, end));
        self.dirty = true;
    }

    /// Adds every address of a network.
    pub fn insert_net(&mut self, net: &IpNetwork) {
        let (f, a, b) = bounds(net);
        self.insert(f, a, b);
    }

    /// Adds all of another set.
    pub fn extend(&mut self, other: &RangeSet) {
        self.v4.extend_from_slice(&other.v4);
        self.v6.extend_from_slice(&other.v6);
        self.dirty = true;
    }

    fn ranges_mut(&mut self, family: Family) -> &mut Vec<(u128, u128)> {
        match family {
            Family::V4 => &mut self.v4,
            Family::V6 => &mut self.v6,
        }
    }

    /// Sorts and merges overlapping and adjacent ranges.
    pub fn normalize(&mut self) {
        if self.dirty {
            merge(&mut self.v4);
            merge(&mut self.v6);
            self.dirty = false;
        }
    }

    /// The merged ranges of one family.
    pub fn ranges(&mut self, family: Family) -> &[(u128, u128)] {
        self.normalize();
        match family {
            Family::V4 => &self.v4,
            Family::V6 => &self.v6,
        }
    }

    /// True when the set holds no address.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Removes every address of `other` from this set.
    pub fn subtract(&mut self, other: &mut RangeSet) {
        self.normalize();
        other.normalize();
        self.v4 = subtract(&self.v4, &other.v4);
        self.v6 = subtract(&self.v6, &other.v6);
    }

    /// The fewest CIDRs that cover exactly this set, IPv4 first, each family
    /// in address order.
    pub fn to_cidrs(&mut self) -> Vec<IpNetwork> {
        self.normalize();
        let mut out = Vec::new();
        for &(a, b) in &self.v4 {
            range_to_cidrs_into(Family::V4, a, b, &mut out);
        }
        for &(a, b) in &self.v6 {
            range_to_cidrs_into(Family::V6, a, b, &mut out);
        }
        out
    }

    /// Number of addresses per family (IPv6 saturates at u128::MAX).
    pub fn count(&mut self, family: Family) -> u128 {
        self.ranges(family).iter().fold(0u128, |acc, &(a, b)| {
            acc.saturating_add((b - a).saturating_add(1))
        })
    }
}

fn merge(v: &mut Vec<(u128, u128)>) {
    v.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(v.len());
    for &(a, b) in v.iter() {
        match out.last_mut() {
            // adjacent counts as mergeable: [1,5] + [6,9] = [1,9]
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    *v = out;
}

/// `base - minus`, both sorted and merged.
fn subtract(base: &[(u128, u128)], minus: &[(u128, u128)]) -> Vec<(u128, u128)> {
    let mut out = Vec::new();
    let mut j = 0;
    for &(mut a, b) in base {
        // skip holes entirely below this range
        while j < minus.len() && minus[j].1 < a {
            j += 1;
        }
        let mut k = j;
        let mut alive = true;
        while k < minus.len() && minus[k].0 <= b {
            let (ha, hb) = minus[k];
            if ha > a {
                out.push((a, ha - 1));
            }
            if hb >= b {
                alive = false;
                break;
            }
            a = a.max(hb + 1);
            k += 1;
        }
        if alive {
            out.push((a, b));
        }
    }
    out
}

/// The fewest CIDRs covering exactly the inclusive range `[start, end]`.
pub fn range_to_cidrs(family: Family, start: u128, end: u128) -> Vec<IpNetwork> {
    let mut out = Vec::new();
    range_to_cidrs_into(family, start, end, &mut out);
    out
}

fn range_to_cidrs_into(family: Family, mut start: u128, end: u128, out: &mut Vec<IpNetwork>) {
    let width = u32::from(family.bits());
    loop {
        // The largest block aligned at `start`...
        let align = start.trailing_zeros().min(width);
        // ...that does not run past `end`: floor(log2(end - start + 1)).
        let span = end - start;
        let fit = if span == u128::MAX {
            128
        } else {
            127 - (span + 1).leading_zeros()
        };
        let bits = align.min(fit);
        let prefix = u8::try_from(width - bits).unwrap_or(0);
        out.push(network(family, start, prefix));
        match 1u128
            .checked_shl(bits)
            .and_then(|size| start.checked_add(size))
        {
            Some(next) if next <= end && next != 0 => start = next,
            _ => break,
        }
    }
}

/// Aggregates the inputs into the fewest CIDRs covering exactly their union.
pub fn summarize(inputs: &mut RangeSet) -> Vec<IpNetwork> {
    inputs.to_cidrs()
}

/// What is left of `base` after removing `minus`, as the fewest CIDRs.
pub fn exclude(base: &mut RangeSet, minus: &mut RangeSet) -> Vec<IpNetwork> {
    base.subtract(minus);
    base.to_cidrs()
}

/// The subnets of a split, produced lazily (a split may be huge with --force).
#[derive(Debug, Clone)]
pub struct Split {
    family: Family,
    next: u128,
    remaining: u128,
    step: u128,
    prefix: u8,
    /// The network that is split (host bits cleared).
    pub parent: IpNetwork,
    /// How many subnets the split gives; `None` when it is 2^128.
    pub count: Option<u128>,
}

impl Split {
    /// The new prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }
}

impl Iterator for Split {
    type Item = IpNetwork;
    fn next(&mut self) -> Option<IpNetwork> {
        if self.remaining == 0 {
            return None;
        }
        let n = network(self.family, self.next, self.prefix);
        self.remaining -= 1;
        self.next = self.next.wrapping_add(self.step);
        Some(n)
    }
}

/// Splits `parent` into subnets of `prefix` bits.
///
/// # Errors
/// A prefix shorter than the parent's or longer than the family allows, or
/// more than `limit` subnets (when a limit is given).
pub fn split(parent: &IpNetwork, prefix: u16, limit: Option<u128>) -> Result<Split, SubnetError> {
    let (family, start, _) = bounds(parent);
    let max = family.bits();
    if prefix < u16::from(parent.prefix()) || prefix > u16::from(max) {
        return Err(SubnetError::BadSplit {
            parent: network(family, start, parent.prefix()).to_string(),
            prefix,
            min: parent.prefix(),
            max,
        });
    }
    let prefix = u8::try_from(prefix).unwrap_or(max);
    let diff = u32::from(prefix - parent.prefix());
    let count = 1u128.checked_shl(diff);
    let parent_net = network(family, start, parent.prefix());
    if let Some(limit) = limit {
        if count.is_none_or(|c| c > limit) {
            return Err(SubnetError::TooMany {
                parent: parent_net.to_string(),
                prefix,
                count: count.map_or_else(|| "2^128".to_string(), |c| c.to_string()),
                limit,
            });
        }
    }
    Ok(Split {
        family,
        next: start,
        // 2^128 subnets (::/0 into /128) cannot be counted in u128: stop one
        // short of wrapping, the last address is then produced by the caller
        // never; a split that large is not printable anyway.
        remaining: count.unwrap_or(u128::MAX),
        step: 1u128.checked_shl(u32::from(max - prefix)).unwrap_or(0),
        prefix,
        parent: parent_net,
        count,
    })
}

/// The prefix that splits a network of `parent_prefix` into at least
/// `count` parts (rounded up to a power of two).
pub fn prefix_for_count(parent_prefix: u8, count: u128) -> u16 {
    let extra = if count <= 1 {
        0
    } else {
        128 - (count - 1).leading_zeros()
    };
    u16::from(parent_prefix) + u16::try_from(extra).unwrap_or(128)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subnet::parse_spec;

    fn set(items: &[&str]) -> RangeSet {
        let mut s = RangeSet::default();
        for i in items {
            let (f, a, b) = parse_spec(i).unwrap();
            s.insert(f, a, b);
        }
        s
    }

    fn strs(v: &[IpNetwork]) -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn summarize_merges_adjacent_and_overlapping() {
        let mut s = set(&[
            "192.0.2.0/25",
            "192.0.2.128/25",
            "192.0.2.7",
            "198.51.100.0/24",
        ]);
        assert_eq!(
            strs(&summarize(&mut s)),
            ["192.0.2.0/24", "198.51.100.0/24"]
        );
        let mut s = set(&["10.0.0.1-10.0.0.6"]);
        assert_eq!(
            strs(&summarize(&mut s)),
            ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]
        );
    }

    #[test]
    fn whole_spaces() {
        let mut s = set(&["0.0.0.0-255.255.255.255"]);
        assert_eq!(strs(&summarize(&mut s)), ["0.0.0.0/0"]);
        let mut s = set(&["::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]);
        assert_eq!(strs(&summarize(&mut s)), ["::/0"]);
        let mut s = set(&["255.255.255.255", "255.255.255.254"]);
        assert_eq!(strs(&summarize(&mut s)), ["255.255.255.254/31"]);
        let mut s = set(&["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]);
        assert_eq!(
            strs(&summarize(&mut s)),
            ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"]
        );
    }

    #[test]
    fn exclude_leaves_the_fewest_cidrs() {
        let mut base = set(&["192.0.2.0/24"]);
        let mut minus = set(&["192.0.2.64/26"]);
        assert_eq!(
            strs(&exclude(&mut base, &mut minus)),
            ["192.0.2.0/26", "192.0.2.128/25"]
        );
        let mut base = set(&["0.0.0.0/0"]);
        let mut minus = set(&["10.0.0.0/8", "0.0.0.0"]);
        let left = exclude(&mut base, &mut minus);
        assert_eq!(left.len(), 34); // python ipaddress agrees
        assert!(!left.iter().any(|n| n.contains("10.1.2.3".parse().unwrap())));
        let mut base = set(&["2001:db8::/32"]);
        let mut minus = set(&["2001:db8::/33"]);
        assert_eq!(
            strs(&exclude(&mut base, &mut minus)),
            ["2001:db8:8000::/33"]
        );
        // everything removed
        let mut base = set(&["2001:db8::/64"]);
        let mut minus = set(&["2001:db8::/48"]);
        assert!(exclude(&mut base, &mut minus).is_empty());
        // holes at both ends and the top of the space
        let mut base = set(&["::/0"]);
        let mut minus = set(&["::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]);
        assert_eq!(exclude(&mut base, &mut minus).len(), 254);
    }

    #[test]
    fn split_by_prefix_and_count() {
        let parent: IpNetwork = "192.0.2.77/24".parse().unwrap();
        let s = split(&parent, 26, None).unwrap();
        assert_eq!(s.count, Some(4));
        assert_eq!(
            strs(&s.collect::<Vec<_>>()),
            [
                "192.0.2.0/26",
                "192.0.2.64/26",
                "192.0.2.128/26",
                "192.0.2.192/26"
            ]
        );
        assert_eq!(prefix_for_count(24, 3), 26);
        assert_eq!(prefix_for_count(24, 4), 26);
        assert_eq!(prefix_for_count(24, 5), 27);
        assert_eq!(prefix_for_count(24, 1), 24);
        assert!(matches!(
            split(&parent, 23, None),
            Err(SubnetError::BadSplit { .. })
        ));
        assert!(matches!(
            split(&parent, 33, None),
            Err(SubnetError::BadSplit { .. })
        ));
        let all: IpNetwork = "::/0".parse().unwrap();
        assert!(matches!(
            split(&all, 128, Some(DEFAULT_SPLIT_LIMIT)),
            Err(SubnetError::TooMany { .. })
        ));
        let v6: IpNetwork = "2001:db8::/126".parse().unwrap();
        assert_eq!(split(&v6, 128, None).unwrap().count(), 4);
        let host: IpNetwork = "192.0.2.1/32".parse().unwrap();
        assert_eq!(
            strs(&split(&host, 32, None).unwrap().collect::<Vec<_>>()),
            ["192.0.2.1/32"]
        );
    }

    #[test]
    fn range_edges() {
        assert_eq!(strs(&range_to_cidrs(Family::V4, 0, 0)), ["0.0.0.0/32"]);
        assert_eq!(
            strs(&range_to_cidrs(Family::V4, 5, 10)),
            ["0.0.0.5/32", "0.0.0.6/31", "0.0.0.8/31", "0.0.0.10/32"]
        );
        assert_eq!(strs(&range_to_cidrs(Family::V6, 0, u128::MAX)), ["::/0"]);
        assert_eq!(range_to_cidrs(Family::V6, 1, u128::MAX).len(), 128);
    }
}
