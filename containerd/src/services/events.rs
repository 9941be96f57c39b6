//! `containerd.services.events.v1.Events`.

use myproto::containerd::services::events::v1::events_server::Events;
use myproto::containerd::services::events::v1::*;
use tokio_stream::StreamExt;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};

use crate::events::{Exchange, validate_topic};
use crate::filters::Filter;
use crate::identifiers;
use crate::services::{namespace, now};

pub struct EventsService {
    pub events: Exchange,
}

#[tonic::async_trait]
impl Events for EventsService {
    async fn publish(&self, req: Request<PublishRequest>) -> Result<Response<()>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        validate_topic(&r.topic)?;
        self.events.forward(Envelope {
            timestamp: now(),
            namespace: ns,
            topic: r.topic,
            event: r.event,
        });
        Ok(Response::new(()))
    }

    async fn forward(&self, req: Request<ForwardRequest>) -> Result<Response<()>, Status> {
        let env = req
            .into_inner()
            .envelope
            .ok_or_else(|| Status::invalid_argument("envelope is required"))?;
        identifiers::validate("namespace", &env.namespace)?;
        validate_topic(&env.topic)?;
        self.events.forward(env);
        Ok(Response::new(()))
    }

    async fn subscribe(
        &self,
        req: Request<SubscribeRequest>,
    ) -> Result<Response<BoxStream<Envelope>>, Status> {
        let filter = Filter::parse(&req.into_inner().filters)?;
        let stream = self.events.subscribe(filter).map(Ok);
        Ok(Response::new(Box::pin(stream)))
    }
}
