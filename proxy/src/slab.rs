//! A slab of TCP connections or UDP flows, addressed by keys that go stale when their
//! entry is removed, so that a late epoll event never reaches a newer occupant of the
//! same slot.

/// Index plus generation; fits in the epoll token beside the event kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Slab<T> {
    pub(crate) const fn new() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Stores a value built from its own key (entries register themselves with epoll
    /// under that key).
    pub(crate) fn insert_with(&mut self, make: impl FnOnce(Key) -> T) -> Key {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    value: None,
                });
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 entries")
            }
        };
        let slot = &mut self.slots[index as usize];
        let key = Key {
            index,
            generation: slot.generation,
        };
        slot.value = Some(make(key));
        self.len += 1;
        key
    }

    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        let slot = self.slots.get_mut(key.index as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        slot.value.as_mut()
    }

    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        let slot = self.slots.get_mut(key.index as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        let value = slot.value.take()?;
        // Generations only need to differ from recent ones; wrapping after 2^32
        // reuses of one slot cannot alias an event still in flight.
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(key.index);
        self.len -= 1;
        Some(value)
    }

    /// Keys of every entry, for sweeps that remove while iterating.
    pub(crate) fn keys(&self) -> Vec<Key> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.value.is_some())
            .map(|(index, slot)| Key {
                index: index as u32,
                generation: slot.generation,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_key_goes_stale_when_slot_is_reused() {
        let mut slab = Slab::new();
        let first = slab.insert_with(|_| "first");
        assert_eq!(slab.remove(first), Some("first"));
        let second = slab.insert_with(|_| "second");
        assert_eq!(second.index, first.index, "slot reused");
        assert_eq!(slab.get_mut(first), None);
        assert_eq!(slab.remove(first), None);
        assert_eq!(slab.get_mut(second).copied(), Some("second"));
        assert_eq!(slab.len(), 1);
    }

    #[test]
    fn insert_sees_its_own_key() {
        let mut slab = Slab::new();
        let key = slab.insert_with(|key| key);
        assert_eq!(slab.get_mut(key).copied(), Some(key));
    }

    #[test]
    fn keys_and_len_track_contents() {
        let mut slab = Slab::new();
        let a = slab.insert_with(|_| 1);
        let b = slab.insert_with(|_| 2);
        let c = slab.insert_with(|_| 3);
        slab.remove(b);
        assert_eq!(slab.keys(), vec![a, c]);
        assert_eq!(slab.len(), 2);
    }
}
