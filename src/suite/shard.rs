//! `--shard K/N`: which of a suite's scenarios this machine runs. Every
//! machine of a CI matrix computes the same split from the same checkout:
//! the input is the sorted list of scenario keys (paths relative to the
//! current directory) and, when given, one report's recorded durations.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Shard `index` of `total`, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub total: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not K/N (e.g. 1/4: the first of four shards)"))?;
        let number = |part: &str, what: &str| {
            part.trim()
                .parse::<usize>()
                .map_err(|_| format!("`{text}` is not K/N: {what} `{part}` is not a whole number"))
        };
        let (index, total) = (number(k, "K")?, number(n, "N")?);
        if total == 0 {
            return Err(format!(
                "`{text}`: N, the number of shards, must be at least 1"
            ));
        }
        if index == 0 || index > total {
            return Err(format!(
                "`{text}`: shards are counted from 1, so K must be between 1 and {total}"
            ));
        }
        Ok(Shard { index, total })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

/// The positions in `keys` (sorted, each once) that shard `shard` runs, in
/// order.
///
/// Without durations: round-robin over the sorted keys. With durations
/// (scenario key → recorded time): longest first onto the least-loaded
/// shard (the lowest-numbered on a tie), a scenario with no recorded time
/// counting as the mean of those recorded. Times are whole milliseconds, so
/// no floating point can make two machines disagree.
pub fn select(
    keys: &[String],
    shard: Shard,
    durations: Option<&BTreeMap<String, Duration>>,
) -> Vec<usize> {
    let Some(durations) = durations else {
        return (0..keys.len())
            .filter(|i| i % shard.total == shard.index - 1)
            .collect();
    };
    let known: Vec<u128> = keys
        .iter()
        .filter_map(|k| durations.get(k).map(Duration::as_millis))
        .collect();
    let mean = match known.len() {
        0 => 1,
        n => known.iter().sum::<u128>() / n as u128,
    };
    let mut order: Vec<(u128, usize)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (durations.get(k).map_or(mean, Duration::as_millis), i))
        .collect();
    // Longest first; equal times in key order.
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut load = vec![0u128; shard.total];
    let mut mine = Vec::new();
    for (time, i) in order {
        let least = (0..shard.total).min_by_key(|s| (load[*s], *s)).unwrap_or(0);
        load[least] += time;
        if least == shard.index - 1 {
            mine.push(i);
        }
    }
    mine.sort_unstable();
    mine
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(text: &str) -> Shard {
        text.parse().unwrap()
    }

    fn sorted_keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("s/{i:02}.yaml")).collect()
    }

    #[test]
    fn k_of_n_is_validated_with_a_message_that_says_why() {
        assert_eq!(shard("2/4"), Shard { index: 2, total: 4 });
        assert_eq!(shard("1/1").to_string(), "1/1");
        let err = |t: &str| t.parse::<Shard>().unwrap_err();
        assert!(err("0/4").contains("counted from 1"), "{}", err("0/4"));
        assert!(err("5/4").contains("between 1 and 4"), "{}", err("5/4"));
        assert!(err("1/0").contains("at least 1"), "{}", err("1/0"));
        assert!(err("0/0").contains("at least 1"));
        assert!(err("abc").contains("is not K/N"));
        assert!(err("1/x").contains("N `x` is not a whole number"));
        assert!(err("-1/4").contains("K `-1`"));
        assert!(err("").contains("is not K/N"));
    }

    #[test]
    fn round_robin_covers_every_scenario_once_in_the_same_way_every_time() {
        let keys = sorted_keys(10);
        let mut all = Vec::new();
        for k in 1..=4 {
            let picked = select(&keys, Shard { index: k, total: 4 }, None);
            assert_eq!(picked, select(&keys, Shard { index: k, total: 4 }, None));
            all.extend(picked);
        }
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!(select(&keys, shard("1/4"), None), [0, 4, 8]);
        assert_eq!(select(&keys, shard("4/4"), None), [3, 7]);
        assert!(select(&sorted_keys(2), shard("3/4"), None).is_empty());
    }

    #[test]
    fn durations_balance_the_shards_longest_first() {
        let keys = sorted_keys(5);
        let secs = [60, 10, 20, 30, 40];
        let durations: BTreeMap<String, Duration> = keys
            .iter()
            .zip(secs)
            .map(|(k, s)| (k.clone(), Duration::from_secs(s)))
            .collect();
        // 60 → shard 1; 40 → 2; 30 → 2 (70); 20 → 1 (80); 10 → 2 (80).
        assert_eq!(select(&keys, shard("1/2"), Some(&durations)), [0, 2]);
        assert_eq!(select(&keys, shard("2/2"), Some(&durations)), [1, 3, 4]);
        // Round-robin would have put 60 + 20 + 40 on one shard.
        assert_eq!(select(&keys, shard("1/2"), None), [0, 2, 4]);
    }

    #[test]
    fn a_scenario_without_a_recorded_time_counts_as_the_mean() {
        let keys = sorted_keys(4);
        let durations: BTreeMap<String, Duration> = [(0, 100), (1, 20)]
            .into_iter()
            .map(|(i, s)| (keys[i].clone(), Duration::from_secs(s)))
            .collect();
        // 100 → 1; then 60, 60 (the mean) and 20: 60 → 2, 60 → 2 (120), 20 → 1.
        assert_eq!(select(&keys, shard("1/2"), Some(&durations)), [0, 1]);
        assert_eq!(select(&keys, shard("2/2"), Some(&durations)), [2, 3]);
        // No recorded time at all: every scenario weighs the same, which is
        // round-robin again.
        let none = BTreeMap::new();
        assert_eq!(
            select(&keys, shard("1/2"), Some(&none)),
            select(&keys, shard("1/2"), None)
        );
    }
}
