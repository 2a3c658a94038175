//! `[[mqtt]]`: one subscriber per MQTT connection that has entries, kept across reloads while its
//! connection is unchanged (a reload then only subscribes and unsubscribes the filters that
//! changed), replaced when its connection changes, and stopped when no entry names it.

mod subscriber;

use crate::hub::Snapshot;
use crate::triggers::background::Background;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use subscriber::{Entries, Subscriber};

/// The subscribers of the served hub, by connection name.
#[derive(Default)]
pub struct MqttSubscriptions {
    subscribers: BTreeMap<String, Subscriber>,
}

impl MqttSubscriptions {
    /// Brings the subscribers in line with `snapshot`'s `[[mqtt]]` entries; call on start and
    /// after each reload.
    pub fn update(&mut self, snapshot: &Arc<Snapshot>, background: &Background) {
        let mut wanted: BTreeMap<String, Entries> = BTreeMap::new();
        for (index, entry) in snapshot.manifest.mqtt.iter().enumerate() {
            let entries = wanted
                .entry(entry.connection.clone())
                .or_insert_with(|| Entries { snapshot: Arc::clone(snapshot), indices: Vec::new() });
            entries.indices.push(index);
        }
        for (name, subscriber) in std::mem::take(&mut self.subscribers) {
            let broker = snapshot.capabilities.mqtt.broker(&name).filter(|_| wanted.contains_key(&name));
            match (broker, wanted.get(&name)) {
                (Some(broker), Some(_)) if *broker == subscriber.broker => {
                    self.subscribers.insert(name, subscriber);
                }
                // The new subscriber takes over the session: it keeps what the new entries want.
                (Some(broker), Some(entries)) if broker.same_session(&subscriber.broker) => {
                    subscriber.stop(&entries.filters().into_keys().collect());
                }
                // A session no subscriber will use again would collect messages on the broker.
                _ => subscriber.stop(&BTreeSet::new()),
            }
        }
        for (name, entries) in wanted {
            let Some(broker) = snapshot.capabilities.mqtt.broker(&name) else {
                // `check` and reload refuse such an entry; this is a last line of defence.
                tracing::error!("[[mqtt]] entries of `{name}` not started: it is not an MQTT connection");
                continue;
            };
            if let Some(subscriber) = self.subscribers.get(&name) {
                subscriber.set(entries);
                continue;
            }
            match Subscriber::start(broker.clone(), entries, background.clone()) {
                Ok(subscriber) => {
                    self.subscribers.insert(name, subscriber);
                }
                Err(err) => tracing::error!("mqtt {}: not subscribed: {err}", broker.described()),
            }
        }
    }

    /// Disconnects every subscriber, keeping their subscriptions: what the broker receives
    /// meanwhile waits in the session for the next start.
    pub fn stop(&mut self) {
        for (_, subscriber) in std::mem::take(&mut self.subscribers) {
            let filters = subscriber.filters();
            subscriber.stop(&filters);
        }
    }
}
