//! Image records: a name pointing at a root descriptor in the content store.

use myproto::containerd::services::images::v1::Image;
use prost::Message;
use redb::{ReadableDatabase, ReadableTable};

use super::{IMAGES, Store, decode, ensure_namespace, key, range};
use crate::error::{Error, Result};

impl Store {
    pub fn image(&self, ns: &str, name: &str) -> Result<Image> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(IMAGES)?;
        match t.get(key(ns, name).as_str())? {
            Some(v) => decode(v.value()),
            None => Err(Error::not_found("image", name)),
        }
    }

    pub fn images(&self, ns: &str) -> Result<Vec<Image>> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(IMAGES)?;
        let (lo, hi) = range(ns);
        let mut out = Vec::new();
        for entry in t.range(lo.as_str()..hi.as_str())? {
            out.push(decode(entry?.1.value())?);
        }
        Ok(out)
    }

    pub fn create_image(&self, ns: &str, image: &Image) -> Result<()> {
        let tx = self.db.begin_write()?;
        {
            ensure_namespace(&tx, ns)?;
            let mut t = tx.open_table(IMAGES)?;
            let k = key(ns, &image.name);
            if t.get(k.as_str())?.is_some() {
                return Err(Error::exists("image", &image.name));
            }
            t.insert(k.as_str(), image.encode_to_vec().as_slice())?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Changes a record in place; `f` sees the stored one.
    pub fn update_image(
        &self,
        ns: &str,
        name: &str,
        f: impl FnOnce(&mut Image) -> Result<()>,
    ) -> Result<Image> {
        let tx = self.db.begin_write()?;
        let image = {
            let mut t = tx.open_table(IMAGES)?;
            let k = key(ns, name);
            let mut image: Image = match t.get(k.as_str())? {
                Some(v) => decode(v.value())?,
                None => return Err(Error::not_found("image", name)),
            };
            f(&mut image)?;
            t.insert(k.as_str(), image.encode_to_vec().as_slice())?;
            image
        };
        tx.commit()?;
        Ok(image)
    }

    pub fn delete_image(&self, ns: &str, name: &str) -> Result<()> {
        let tx = self.db.begin_write()?;
        if tx
            .open_table(IMAGES)?
            .remove(key(ns, name).as_str())?
            .is_none()
        {
            return Err(Error::not_found("image", name));
        }
        tx.commit()?;
        Ok(())
    }
}
