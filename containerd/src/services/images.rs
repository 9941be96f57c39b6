//! `containerd.services.images.v1.Images`.

use std::sync::Arc;

use myproto::containerd::services::images::v1::images_server::Images;
use myproto::containerd::services::images::v1::*;
use myproto::containerd::types::Descriptor;
use tonic::{Request, Response, Status};

use crate::digest;
use crate::error::Error;
use crate::events::Exchange;
use crate::filters::{Fields, Filter};
use crate::gc::GarbageCollector;
use crate::metadata::{Store, clean_labels};
use crate::services::{namespace, now};

pub struct ImagesService {
    pub store: Arc<Store>,
    pub events: Exchange,
    pub gc: Arc<GarbageCollector>,
}

impl Fields for Image {
    fn field(&self, path: &[String]) -> Option<String> {
        let target = self.target.as_ref();
        let nonempty = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
        match (
            path.first().map(String::as_str),
            path.get(1).map(String::as_str),
        ) {
            (Some("name"), None) => nonempty(&self.name),
            (Some("target"), Some("digest")) => target.and_then(|t| nonempty(&t.digest)),
            (Some("target"), Some("mediatype")) => target.and_then(|t| nonempty(&t.media_type)),
            (Some("labels"), Some(_)) => self.labels.get(&path[1..].join(".")).cloned(),
            (Some("annotations"), Some(_)) => {
                target.and_then(|t| t.annotations.get(&path[1..].join(".")).cloned())
            }
            _ => None,
        }
    }
}

fn validate_target(t: Option<&Descriptor>) -> crate::error::Result<()> {
    let t = t.ok_or_else(|| Error::InvalidArgument("image target must be set".into()))?;
    digest::validate(&t.digest)
        .map_err(|e| Error::InvalidArgument(format!("image target: {e}")))?;
    if t.size <= 0 {
        return Err(Error::InvalidArgument(
            "image target size must be greater than zero".into(),
        ));
    }
    if t.media_type.is_empty() {
        return Err(Error::InvalidArgument(
            "image target media type must be set".into(),
        ));
    }
    Ok(())
}

fn validate(image: &mut Image) -> crate::error::Result<()> {
    if image.name.is_empty() {
        return Err(Error::InvalidArgument(
            "image name must not be empty".into(),
        ));
    }
    clean_labels(&mut image.labels)?;
    validate_target(image.target.as_ref())
}

#[tonic::async_trait]
impl Images for ImagesService {
    async fn get(
        &self,
        req: Request<GetImageRequest>,
    ) -> Result<Response<GetImageResponse>, Status> {
        let ns = namespace(&req)?;
        let image = self.store.image(&ns, &req.into_inner().name)?;
        Ok(Response::new(GetImageResponse { image: Some(image) }))
    }

    async fn list(
        &self,
        req: Request<ListImagesRequest>,
    ) -> Result<Response<ListImagesResponse>, Status> {
        let ns = namespace(&req)?;
        let filter = Filter::parse(&req.into_inner().filters)?;
        let images = self
            .store
            .images(&ns)?
            .into_iter()
            .filter(|i| filter.matches(i))
            .collect();
        Ok(Response::new(ListImagesResponse { images }))
    }

    async fn create(
        &self,
        req: Request<CreateImageRequest>,
    ) -> Result<Response<CreateImageResponse>, Status> {
        let ns = namespace(&req)?;
        let mut image = req
            .into_inner()
            .image
            .ok_or_else(|| Status::invalid_argument("image is required"))?;
        validate(&mut image)?;
        image.created_at = now();
        image.updated_at = image.created_at;
        self.store.create_image(&ns, &image)?;
        self.events.publish(
            &ns,
            "/images/create",
            &ImageCreate {
                name: image.name.clone(),
                labels: image.labels.clone(),
            },
        );
        Ok(Response::new(CreateImageResponse { image: Some(image) }))
    }

    async fn update(
        &self,
        req: Request<UpdateImageRequest>,
    ) -> Result<Response<UpdateImageResponse>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        let new = r
            .image
            .ok_or_else(|| Status::invalid_argument("image is required"))?;
        if new.name.is_empty() {
            return Err(Status::invalid_argument("image name must not be empty"));
        }
        let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
        let image = self.store.update_image(&ns, &new.name, |img| {
            if paths.is_empty() {
                img.labels = new.labels.clone();
                img.target = new.target.clone();
            }
            for p in &paths {
                if let Some(k) = p.strip_prefix("labels.") {
                    match new.labels.get(k) {
                        Some(v) => img.labels.insert(k.to_string(), v.clone()),
                        None => img.labels.remove(k),
                    };
                } else if let Some(k) = p.strip_prefix("annotations.") {
                    let t = img.target.get_or_insert_with(Descriptor::default);
                    match new.target.as_ref().and_then(|n| n.annotations.get(k)) {
                        Some(v) => t.annotations.insert(k.to_string(), v.clone()),
                        None => t.annotations.remove(k),
                    };
                } else {
                    match p.as_str() {
                        "labels" => img.labels = new.labels.clone(),
                        // The target is replaced as a unit (digest, size and type go together).
                        "target" => img.target = new.target.clone(),
                        "annotations" => {
                            let a = new.target.as_ref().map(|t| t.annotations.clone());
                            img.target
                                .get_or_insert_with(Descriptor::default)
                                .annotations = a.unwrap_or_default();
                        }
                        _ => {
                            return Err(Error::InvalidArgument(format!(
                                "cannot update {p:?} field on image {:?}",
                                img.name
                            )));
                        }
                    }
                }
            }
            validate(img)?;
            img.updated_at = now();
            Ok(())
        })?;
        self.events.publish(
            &ns,
            "/images/update",
            &ImageUpdate {
                name: image.name.clone(),
                labels: image.labels.clone(),
            },
        );
        Ok(Response::new(UpdateImageResponse { image: Some(image) }))
    }

    async fn delete(&self, req: Request<DeleteImageRequest>) -> Result<Response<()>, Status> {
        let ns = namespace(&req)?;
        let r = req.into_inner();
        self.store.delete_image(&ns, &r.name)?;
        self.events
            .publish(&ns, "/images/delete", &ImageDelete { name: r.name });
        if r.sync {
            self.gc.collect().await?;
        } else {
            self.gc.trigger();
        }
        Ok(Response::new(()))
    }
}
