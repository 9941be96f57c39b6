//! Image records in the Images service: a name, labels and the target descriptor.

use std::collections::BTreeMap;

use myproto::containerd::services::images::v1::{
    CreateImageRequest, DeleteImageRequest, GetImageRequest, Image, ListImagesRequest,
    UpdateImageRequest,
};
use myproto::containerd::types::Descriptor;

use crate::client::Client;
use crate::error::{Error, Result};

/// A new record named `name` for `target`.
pub fn new_image(name: &str, target: Descriptor, labels: &BTreeMap<String, String>) -> Image {
    Image {
        name: name.to_owned(),
        labels: labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        target: Some(target),
        ..Image::default()
    }
}

impl Client {
    /// The record named `name`.
    pub async fn get_image(&self, name: &str) -> Result<Image> {
        let response = self
            .images()
            .get(self.request(GetImageRequest {
                name: name.to_owned(),
            }))
            .await
            .map_err(|s| Error::rpc(format!("image {name:?}"), s))?;
        response.into_inner().image.ok_or_else(|| {
            Error::rpc(
                format!("image {name:?}"),
                tonic::Status::not_found("the daemon answered without an image"),
            )
        })
    }

    /// Records matching `filters` (containerd's filter syntax; none: all).
    pub async fn list_images(&self, filters: &[String]) -> Result<Vec<Image>> {
        let response = self
            .images()
            .list(self.request(ListImagesRequest {
                filters: filters.to_vec(),
            }))
            .await
            .map_err(|s| Error::rpc("listing images", s))?;
        Ok(response.into_inner().images)
    }

    /// Creates the record, or replaces the existing one of that name (containerd's
    /// `createNewImage`, what a pull does).
    pub async fn create_or_replace_image(&self, image: Image) -> Result<Image> {
        let what = || format!("image {:?}", image.name);
        loop {
            let created = self
                .images()
                .create(self.request(CreateImageRequest {
                    image: Some(image.clone()),
                    source_date_epoch: None,
                }))
                .await;
            match created {
                Ok(r) => return Ok(r.into_inner().image.unwrap_or(image)),
                Err(s) if s.code() == tonic::Code::AlreadyExists => {}
                Err(s) => return Err(Error::rpc(what(), s)),
            }
            let updated = self
                .images()
                .update(self.request(UpdateImageRequest {
                    image: Some(image.clone()),
                    update_mask: None,
                    source_date_epoch: None,
                }))
                .await;
            match updated {
                Ok(r) => return Ok(r.into_inner().image.unwrap_or(image)),
                // Removed in between: create it again.
                Err(s) if s.code() == tonic::Code::NotFound => continue,
                Err(s) => return Err(Error::rpc(what(), s)),
            }
        }
    }

    /// Points the record at a new target, creating it if needed (what an import does:
    /// `Update(image, "target")`, else `Create`).
    pub async fn update_or_create_image(&self, image: Image) -> Result<Image> {
        let what = || format!("image {:?}", image.name);
        let updated = self
            .images()
            .update(self.request(UpdateImageRequest {
                image: Some(image.clone()),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["target".into()],
                }),
                source_date_epoch: None,
            }))
            .await;
        match updated {
            Ok(r) => Ok(r.into_inner().image.unwrap_or(image)),
            Err(s) if s.code() == tonic::Code::NotFound => {
                let created = self
                    .images()
                    .create(self.request(CreateImageRequest {
                        image: Some(image.clone()),
                        source_date_epoch: None,
                    }))
                    .await
                    .map_err(|s| Error::rpc(what(), s))?;
                Ok(created.into_inner().image.unwrap_or(image))
            }
            Err(s) => Err(Error::rpc(what(), s)),
        }
    }

    /// Removes a record (`sync`: and wait for the garbage collector).
    pub async fn delete_image(&self, name: &str, sync: bool) -> Result<()> {
        self.images()
            .delete(self.request(DeleteImageRequest {
                name: name.to_owned(),
                sync,
            }))
            .await
            .map_err(|s| Error::rpc(format!("image {name:?}"), s))?;
        Ok(())
    }

    /// A new record `target` for the image `source` (same target and labels), as
    /// `ctr images tag`; with `force` an existing `target` is replaced.
    pub async fn tag_image(&self, source: &str, target: &str, force: bool) -> Result<Image> {
        let mut image = self.get_image(source).await?;
        image.name = target.to_owned();
        image.created_at = None;
        image.updated_at = None;
        let create = |image: Image| {
            let request = self.request(CreateImageRequest {
                image: Some(image),
                source_date_epoch: None,
            });
            let mut images = self.images();
            async move { images.create(request).await }
        };
        match create(image.clone()).await {
            Ok(r) => Ok(r.into_inner().image.unwrap_or(image)),
            Err(s) if s.code() == tonic::Code::AlreadyExists && force => {
                self.delete_image(target, false).await?;
                let created = create(image.clone())
                    .await
                    .map_err(|s| Error::rpc(format!("image {target:?}"), s))?;
                Ok(created.into_inner().image.unwrap_or(image))
            }
            Err(s) => Err(Error::rpc(format!("image {target:?}"), s)),
        }
    }
}
