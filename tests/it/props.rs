//! Property tests of the subnet arithmetic and the filter.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;
use proptest::prelude::*;

use netray::subnet::filter::{Filter, FilterOptions, LineClass};
use netray::subnet::{bounds, exclude, range_to_cidrs, split, summarize, Family, RangeSet};

fn v4_net() -> impl Strategy<Value = IpNetwork> {
    (any::<u32>(), 0u8..=32)
        .prop_map(|(a, p)| IpNetwork::new(IpAddr::V4(Ipv4Addr::from(a)), p).unwrap())
}

fn v6_net() -> impl Strategy<Value = IpNetwork> {
    (any::<u128>(), 0u8..=128)
        .prop_map(|(a, p)| IpNetwork::new(IpAddr::V6(Ipv6Addr::from(a)), p).unwrap())
}

fn any_net() -> impl Strategy<Value = IpNetwork> {
    prop_oneof![v4_net(), v6_net()]
}

fn set_of(nets: &[IpNetwork]) -> RangeSet {
    let mut s = RangeSet::default();
    for n in nets {
        s.insert_net(n);
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Splitting a network and summarizing the parts gives the network back.
    #[test]
    fn summarize_undoes_split(net in any_net(), extra in 0u8..=10) {
        let (family, _, _) = bounds(&net);
        let prefix = (net.prefix() + extra).min(family.bits());
        let parts: Vec<IpNetwork> = split(&net, u16::from(prefix), None).unwrap().collect();
        prop_assert_eq!(parts.len() as u128, 1u128 << (prefix - net.prefix()));
        let back = summarize(&mut set_of(&parts));
        let (f, a, _) = bounds(&net);
        prop_assert_eq!(back, vec![netray::subnet::network(f, a, net.prefix())]);
    }

    /// A range becomes aligned, contiguous CIDRs that cover exactly it, and
    /// no two neighbours could be merged.
    #[test]
    fn range_to_cidrs_is_exact_and_minimal(a in any::<u32>(), b in any::<u32>()) {
        let (lo, hi) = (u128::from(a.min(b)), u128::from(a.max(b)));
        let cidrs = range_to_cidrs(Family::V4, lo, hi);
        let mut next = lo;
        for c in &cidrs {
            let (_, first, last) = bounds(c);
            prop_assert_eq!(first, next);
            next = last + 1;
        }
        prop_assert_eq!(next, hi + 1);
        for w in cidrs.windows(2) {
            let merged = summarize(&mut set_of(w));
            prop_assert!(merged.len() == 2 || w[0].prefix() != w[1].prefix(),
                "{} and {} should have been one CIDR", w[0], w[1]);
        }
        prop_assert!(cidrs.len() <= 62);
    }

    /// (base - minus) holds no address of minus, and together with
    /// (base AND minus) it is all of base.
    #[test]
    fn exclude_is_a_set_difference(base in prop::collection::vec(any_net(), 1..4),
                                   minus in prop::collection::vec(any_net(), 1..4)) {
        let left = exclude(&mut set_of(&base), &mut set_of(&minus));
        let mut left_set = set_of(&left);
        let mut m = set_of(&minus);
        for f in [Family::V4, Family::V6] {
            let left_ranges = left_set.ranges(f).to_vec();
            for &(a, b) in &left_ranges {
                for &(c, d) in m.ranges(f) {
                    prop_assert!(b < c || d < a, "overlap with a removed range");
                }
            }
        }
        // left + (minus within base) == base
        let mut union = set_of(&left);
        let mut inter = set_of(&base);
        let mut outside_base = set_of(&minus);
        outside_base.subtract(&mut set_of(&base));
        let mut minus_in_base = set_of(&minus);
        minus_in_base.subtract(&mut outside_base);
        inter.subtract(&mut set_of(&left));
        prop_assert_eq!(inter.to_cidrs(), minus_in_base.to_cidrs());
        union.extend(&minus_in_base);
        prop_assert_eq!(union.to_cidrs(), set_of(&base).to_cidrs());
    }

    /// The filter finds an address wherever it stands between separators,
    /// and its verdict agrees with a naive membership check.
    #[test]
    fn filter_agrees_with_naive_membership(
        pats in prop::collection::vec(any_net(), 1..5),
        addrs in prop::collection::vec(prop_oneof![
            any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        ], 0..4),
        seps in prop::collection::vec(prop::sample::select(vec![" ", ", ", " [", "] ", "=", " from ", "\t", "/"]), 5),
    ) {
        let mut line = String::from("log");
        for (i, a) in addrs.iter().enumerate() {
            line.push_str(seps[i % seps.len()]);
            line.push_str(&a.to_string());
        }
        line.push_str(" end");
        let has_v4 = pats.iter().any(|p| p.is_ipv4());
        let has_v6 = pats.iter().any(|p| p.is_ipv6());
        let looked_for: Vec<&IpAddr> = addrs
            .iter()
            .filter(|a| (a.is_ipv4() && has_v4) || (a.is_ipv6() && has_v6))
            .collect();
        let naive_inside = looked_for.iter().any(|a| pats.iter().any(|p| p.contains(**a)));
        let mut f = Filter::new(&mut set_of(&pats), FilterOptions::default());
        let class = f.classify(line.as_bytes());
        match class {
            LineClass::Inside(hit) => {
                prop_assert!(naive_inside, "{line}: found {hit}");
                prop_assert!(pats.iter().any(|p| p.contains(hit)));
            }
            LineClass::Outside => {
                prop_assert!(!naive_inside, "{line}");
                prop_assert!(!looked_for.is_empty(), "{line}: an address out of nothing");
            }
            LineClass::NoAddress => {
                prop_assert!(looked_for.is_empty(), "{line}: addresses missed");
            }
        }
    }
}
