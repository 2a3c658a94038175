//! The client a connection's publishes go through: connected on the first publish, kept for the
//! runs after it, and given up (for a new one at the next publish) when its connection fails.
//! Each publish learns when the broker acknowledged it (QoS 1 and 2) or when it was written (QoS 0).

use super::broker::{Broker, TlsError};
use parking_lot::Mutex;
use rumqttc::{AsyncClient, Event, EventLoop, Outgoing, Packet, QoS};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Publishes that may wait in the client's channel before `publish` refuses more.
const CHANNEL: usize = 1024;

/// What a publish learns: `Ok` once acknowledged (or written, for QoS 0), else why not.
pub type Done = oneshot::Receiver<Result<(), String>>;

/// A connected (or connecting) client and its event loop task.
pub struct Publisher {
    client: AsyncClient,
    tracking: Arc<Mutex<Tracking>>,
    task: JoinHandle<()>,
}

/// Publishes in flight: those not yet written, in the order they were handed to the client
/// (rumqttc writes them in that order and numbers them then), and those written, by packet id.
#[derive(Default)]
struct Tracking {
    unsent: VecDeque<(QoS, oneshot::Sender<Result<(), String>>)>,
    unacknowledged: HashMap<u16, oneshot::Sender<Result<(), String>>>,
    /// Why the connection failed; a failed publisher takes no more publishes.
    failed: Option<String>,
}

impl Tracking {
    fn fail(&mut self, why: &str) {
        self.failed = Some(why.to_string());
        for (_, waiter) in self.unsent.drain(..) {
            let _ = waiter.send(Err(why.to_string()));
        }
        for (_, waiter) in self.unacknowledged.drain() {
            let _ = waiter.send(Err(why.to_string()));
        }
    }
}

impl Publisher {
    /// A client of `broker` whose event loop runs on `runtime`; it connects as it starts.
    pub fn start(broker: &Broker, runtime: &Handle) -> Result<Self, TlsError> {
        let client_id = format!("{}-pub-{:08x}", broker.client_id, fastrand::u32(..));
        let (client, events) = AsyncClient::new(broker.options(&client_id, false)?, CHANNEL);
        let tracking = Arc::new(Mutex::new(Tracking::default()));
        let task = runtime.spawn(drive(events, Arc::clone(&tracking)));
        Ok(Self { client, tracking, task })
    }

    /// Whether the connection failed (the next publish starts a new client).
    pub fn failed(&self) -> bool {
        self.tracking.lock().failed.is_some()
    }

    /// Hands a publish to the client; the answer says when the broker has it.
    pub(super) fn publish(&self, topic: &str, payload: Vec<u8>, qos: QoS, retain: bool) -> Result<Done, String> {
        let (sender, done) = oneshot::channel();
        // Under the lock, so the order of `unsent` is the order rumqttc writes them in.
        let mut tracking = self.tracking.lock();
        if let Some(why) = &tracking.failed {
            return Err(why.clone());
        }
        tracking.unsent.push_back((qos, sender));
        if let Err(err) = self.client.try_publish(topic, qos, retain, payload) {
            tracking.unsent.pop_back();
            return Err(format!("cannot hand the message to the client: {err}"));
        }
        Ok(done)
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        let _ = self.client.try_disconnect();
        self.task.abort();
    }
}

/// Polls the client's event loop, telling each publish when it was written and acknowledged,
/// until the connection fails.
async fn drive(mut events: EventLoop, tracking: Arc<Mutex<Tracking>>) {
    loop {
        match events.poll().await {
            Ok(Event::Outgoing(Outgoing::Publish(packet_id))) => {
                let mut tracking = tracking.lock();
                if let Some((qos, waiter)) = tracking.unsent.pop_front() {
                    if qos == QoS::AtMostOnce {
                        let _ = waiter.send(Ok(()));
                    } else {
                        tracking.unacknowledged.insert(packet_id, waiter);
                    }
                }
            }
            Ok(Event::Incoming(Packet::PubAck(ack))) => acknowledged(&tracking, ack.pkid),
            Ok(Event::Incoming(Packet::PubComp(complete))) => acknowledged(&tracking, complete.pkid),
            Ok(_) => {}
            Err(err) => {
                tracking.lock().fail(&super::describe(&err));
                return;
            }
        }
    }
}

fn acknowledged(tracking: &Mutex<Tracking>, packet_id: u16) {
    if let Some(waiter) = tracking.lock().unacknowledged.remove(&packet_id) {
        let _ = waiter.send(Ok(()));
    }
}
