//! One of each of a round's clients, by the role it plays: the plan's clients, what each made,
//! and the verdicts' view of them are the same struct, so no list of them can drift from
//! another's order.

/// Declares [`Roles`] and what takes it apart and back, from one list of the roles: the array's
/// order is the list's, wherever it is used.
macro_rules! roles {
    ($($(#[$doc:meta])* $role:ident,)*) => {
        /// Something for each client of a round (see [`super::round`]).
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Roles<T> {
            $($(#[$doc])* pub $role: T,)*
        }

        impl<T> Roles<T> {
            pub fn as_ref(&self) -> Roles<&T> {
                Roles { $($role: &self.$role,)* }
            }

            /// Each, in one fixed order: for what needs them side by side (playing them all
            /// at once).
            pub fn into_array(self) -> [T; ROLES] {
                [$(self.$role,)*]
            }

            /// The inverse of [`Roles::into_array`].
            pub fn from_array(array: [T; ROLES]) -> Self {
                let [$($role,)*] = array;
                Roles { $($role,)* }
            }
        }
    };
}

roles! {
    /// A total outage, with a budget generous enough that miscounting it shows.
    outage_a,
    /// A total outage, with a typical 10 %.
    outage_b,
    partial,
    /// Made while the others burn their budgets.
    fresh,
    /// Called by many tasks at once, against a slow upstream.
    together,
    /// Called by one task after another, while its upstream flaps.
    flapping,
    /// Seen across windows.
    windows,
    /// A wave of calls that use every attempt, then one that needs the budget left.
    ends,
    /// Seen within a window: its healthy calls' deposits must still pay for its outage.
    inside,
    /// Lesson 3's rules, with a budget that always has room (see [`super::rules`]).
    rules,
    /// A wave of calls refused most of their retries, then calls that need the budget left.
    refusals,
    /// Calls that ask the budget long after they set out, when older deposits have left it.
    late,
    /// Calls to a server that refuses connections until a moment later.
    refused,
    /// A budget of no ratio and no floor: no retry at all.
    zero,
    /// A budget of a floor alone, over a window of seconds.
    floor,
    /// Calls whose retries succeed, then calls that need what is left.
    repaid,
}

/// How many roles there are.
pub const ROLES: usize = 16;

impl<T> Roles<T> {
    /// `f` applied to each, in the order of [`Roles::into_array`].
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Roles<U> {
        Roles::from_array(self.into_array().map(f))
    }
}

impl<T, E> Roles<Result<T, E>> {
    /// Each one's value, or the first error in the order of [`Roles::into_array`].
    pub fn transpose(self) -> Result<Roles<T>, E> {
        let mut values = Vec::with_capacity(ROLES);
        for each in self.into_array() {
            values.push(each?);
        }
        let Ok(array) = values.try_into() else { unreachable!("one value per role") };
        Ok(Roles::from_array(array))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered() -> Roles<usize> {
        Roles::from_array(std::array::from_fn(|index| index))
    }

    #[test]
    fn the_array_and_the_roles_agree_both_ways() {
        let roles = numbered();
        assert_eq!(roles.as_ref().map(|n| *n), roles);
        assert_eq!(Roles::from_array(roles.clone().into_array()), roles);
        assert_eq!((roles.outage_a, roles.rules, roles.refusals), (0, 9, 10));
    }

    #[test]
    fn transpose_hands_back_the_first_error_in_order() {
        let failing = numbered().map(|n| if n % 4 == 3 { Err(n) } else { Ok(n) });
        assert_eq!(failing.transpose(), Err(3));
        assert_eq!(numbered().map(Ok::<_, ()>).transpose(), Ok(numbered()));
    }
}
