//! One connection's subscriber: a persistent session under the connection's client id, so the
//! broker keeps QoS 1 and 2 messages for the hub while it is away; each message queued durably
//! for every matching `[[mqtt]]` entry and acknowledged only once queued (at least once: a crash
//! before the acknowledgement has the broker deliver it again). Reconnects with backoff and
//! subscribes again after every connect, since a restarted broker may have lost the session.

use crate::config::topic::matches;
use crate::hub::Snapshot;
use crate::runner::{Invocation, MqttMessage};
use crate::stdlib::mqtt::{Broker, describe, to_qos};
use crate::triggers::background::Background;
use parking_lot::Mutex;
use rumqttc::{AsyncClient, Event, EventLoop, Outgoing, Packet, Publish, QoS, SubscribeReasonCode};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Requests that may wait in the client's channel (acknowledgements, subscriptions).
const CHANNEL: usize = 1024;
/// The first pause before reconnecting, doubled after each failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long a stopping subscriber may take to unsubscribe and disconnect before it is cut off.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// The `[[mqtt]]` entries of one connection: indices into the snapshot's `mqtt` array.
pub struct Entries {
    pub snapshot: Arc<Snapshot>,
    pub indices: Vec<usize>,
}

impl Entries {
    /// Each filter to subscribe to, with the highest QoS an entry asks of it.
    pub fn filters(&self) -> BTreeMap<String, QoS> {
        let mut filters = BTreeMap::new();
        for entry in self.indices.iter().filter_map(|index| self.snapshot.manifest.mqtt.get(*index)) {
            let wanted = filters.entry(entry.topic.clone()).or_insert(entry.qos);
            *wanted = (*wanted).max(entry.qos);
        }
        filters.into_iter().map(|(filter, qos)| (filter, to_qos(qos))).collect()
    }
}

/// A running subscriber.
pub struct Subscriber {
    /// The broker it is connected to, as the manifest named it when it started.
    pub broker: Broker,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

/// What the subscriber's loop and its owner share.
struct Shared {
    client: AsyncClient,
    entries: Mutex<Entries>,
    /// Set once stopping: a lost connection then ends the loop instead of reconnecting.
    stopping: AtomicBool,
    /// Counts connects and losses: an acknowledgement is sent only on the connection its message
    /// came on.
    connection: AtomicU64,
}

impl Subscriber {
    /// Connects to `broker` and subscribes to the filters of `entries`.
    pub fn start(
        broker: Broker,
        entries: Entries,
        background: Background,
    ) -> Result<Self, crate::stdlib::mqtt::TlsError> {
        let options = broker.options(&broker.client_id, true)?;
        let (client, events) = AsyncClient::new(options, CHANNEL);
        let shared = Arc::new(Shared {
            client,
            entries: Mutex::new(entries),
            stopping: AtomicBool::new(false),
            connection: AtomicU64::new(0),
        });
        let (acks, pending) = mpsc::unbounded_channel();
        tokio::spawn(acknowledge(Arc::clone(&shared), pending));
        let task = tokio::spawn(drive(broker.clone(), events, Arc::clone(&shared), background, acks));
        Ok(Self { broker, shared, task })
    }

    /// Takes the entries of a reloaded manifest: subscribes to new filters, unsubscribes from
    /// those no entry names any more.
    pub fn set(&self, entries: Entries) {
        let new = entries.filters();
        let old = std::mem::replace(&mut *self.shared.entries.lock(), entries).filters();
        let client = self.shared.client.clone();
        let broker = self.broker.described();
        tokio::spawn(async move {
            for (filter, qos) in &new {
                if old.get(filter) != Some(qos) {
                    tracing::info!("mqtt {broker}: subscribing to `{filter}` (qos {})", *qos as u8);
                    let _ = client.subscribe(filter.clone(), *qos).await;
                }
            }
            for filter in old.keys().filter(|filter| !new.contains_key(*filter)) {
                tracing::info!("mqtt {broker}: unsubscribing from `{filter}`");
                let _ = client.unsubscribe(filter.clone()).await;
            }
        });
    }

    /// The filters it is subscribed to.
    pub fn filters(&self) -> BTreeSet<String> {
        self.shared.entries.lock().filters().into_keys().collect()
    }

    /// Disconnects, first unsubscribing from every filter not in `keep`: a kept subscription
    /// goes on collecting messages in the session for the next start.
    pub fn stop(self, keep: &BTreeSet<String>) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let filters = self.shared.entries.lock().filters();
        let client = self.shared.client.clone();
        let task = self.task;
        let keep = keep.clone();
        tokio::spawn(async move {
            for filter in filters.keys().filter(|filter| !keep.contains(*filter)) {
                let _ = client.unsubscribe(filter.clone()).await;
            }
            let _ = client.disconnect().await;
            let abort = task.abort_handle();
            if tokio::time::timeout(STOP_GRACE, task).await.is_err() {
                abort.abort();
            }
        });
    }
}

/// Polls the client's event loop: (re)subscribes after each connect, queues each message, and
/// reconnects with backoff after a failure, until stopped.
async fn drive(
    broker: Broker,
    mut events: EventLoop,
    shared: Arc<Shared>,
    background: Background,
    acks: mpsc::UnboundedSender<Pending>,
) {
    let name = broker.described();
    let mut backoff = FIRST_BACKOFF;
    let mut connected_once = false;
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                shared.connection.fetch_add(1, Ordering::SeqCst);
                backoff = FIRST_BACKOFF;
                let filters = shared.entries.lock().filters();
                let again = if connected_once { "reconnected" } else { "connected" };
                connected_once = true;
                tracing::info!(
                    "mqtt {name}: {again} as `{}` (session {}); subscribing to {}",
                    broker.client_id,
                    if ack.session_present { "resumed" } else { "new" },
                    filters.keys().map(|filter| format!("`{filter}`")).collect::<Vec<_>>().join(", ")
                );
                // Every time: a broker restarted without persistence has forgotten them.
                let topics = filters.into_iter().map(|(filter, qos)| rumqttc::SubscribeFilter::new(filter, qos));
                if let Err(err) = shared.client.subscribe_many(topics).await {
                    tracing::error!("mqtt {name}: cannot subscribe: {err}");
                }
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                if ack.return_codes.iter().any(|code| matches!(code, SubscribeReasonCode::Failure)) {
                    tracing::error!("mqtt {name}: the broker refused a subscription (not allowed for this user?)");
                } else {
                    tracing::info!("mqtt {name}: subscribed");
                }
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                let connection = shared.connection.load(Ordering::SeqCst);
                let queued = queue(&shared, &broker, &publish, &background);
                let _ = acks.send(Pending { connection, queued, publish });
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) if shared.stopping.load(Ordering::SeqCst) => return,
            Ok(_) => {}
            Err(_) if shared.stopping.load(Ordering::SeqCst) => return,
            Err(err) => {
                // Messages of the lost connection are delivered again on the next: none of their
                // acknowledgements may go out on it.
                shared.connection.fetch_add(1, Ordering::SeqCst);
                tracing::warn!("mqtt {name}: connection lost: {}; reconnecting in {backoff:?}", describe(&err));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// A message waiting for its runs to be queued before it is acknowledged.
struct Pending {
    connection: u64,
    queued: oneshot::Receiver<bool>,
    publish: Publish,
}

/// Queues a run of each entry whose filter matches the message's topic; the answer says whether
/// all were stored.
fn queue(shared: &Shared, broker: &Broker, publish: &Publish, background: &Background) -> oneshot::Receiver<bool> {
    let (done, queued) = oneshot::channel();
    let topic = publish.topic.clone();
    let message =
        MqttMessage { topic: &topic, qos: publish.qos as u8, retain: publish.retain, payload: &publish.payload };
    let items: Vec<_> = {
        let entries = shared.entries.lock();
        entries
            .indices
            .iter()
            .filter_map(|index| entries.snapshot.manifest.mqtt.get(*index))
            .filter(|entry| matches(&entry.topic, &topic))
            .map(|entry| {
                let invocation = Invocation::mqtt(entry, &message);
                let policy = entry.retry.unwrap_or_default();
                crate::queue::item(&invocation, format!("mqtt {topic}"), policy, entry.on_error.clone())
            })
            .collect()
    };
    let queue = Arc::clone(&background.queue);
    let name = broker.described();
    tokio::spawn(async move {
        let mut stored = true;
        for item in items {
            if let Err(err) = queue.enqueue(item).await {
                tracing::error!(
                    "mqtt {name}: a message on `{topic}` was not queued (the broker delivers it again): {err}"
                );
                stored = false;
                break;
            }
        }
        let _ = done.send(stored);
    });
    queued
}

/// Acknowledges messages in the order they arrived, each once its runs are queued, and only on
/// the connection it came on (after a reconnect the broker delivers it again).
async fn acknowledge(shared: Arc<Shared>, mut pending: mpsc::UnboundedReceiver<Pending>) {
    while let Some(Pending { connection, queued, publish }) = pending.recv().await {
        let stored = queued.await.unwrap_or(false);
        if stored && connection == shared.connection.load(Ordering::SeqCst) {
            let _ = shared.client.ack(&publish).await;
        }
    }
}
