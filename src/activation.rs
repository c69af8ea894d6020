//! The three activation functions of the study and their closed-form derivatives.
//!
//! These are the single definitions used everywhere in nnlab: the XOR MLP's hand-written
//! backward pass uses [`Activation::derivative`], the CIFAR-10 networks use
//! [`Activation::apply`], and `nnlab activations` plots both.

use crate::error::{Error, Result};
use burn::tensor::{Tensor, activation, backend::Backend};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A pointwise activation function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Activation {
    /// max(0, x).
    Relu,
    /// The logistic sigmoid 1 / (1 + e^-x).
    #[cfg_attr(feature = "cli", value(alias = "logistic"))]
    Sigmoid,
    /// The hyperbolic tangent.
    Tanh,
}

impl Activation {
    /// All three, in the order the homework plots them.
    pub const ALL: [Activation; 3] = [Activation::Tanh, Activation::Sigmoid, Activation::Relu];

    /// The lowercase name used in flags and file names.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
        }
    }

    /// f applied elementwise to a tensor on any backend.
    pub fn apply<B: Backend, const D: usize>(self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Activation::Relu => activation::relu(x),
            Activation::Sigmoid => activation::sigmoid(x),
            Activation::Tanh => activation::tanh(x),
        }
    }

    /// f'(x) elementwise, from the pre-activation `x`, in closed form (no autodiff).
    pub fn derivative<B: Backend, const D: usize>(self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Activation::Relu => x.greater_elem(0.0).float(),
            Activation::Sigmoid => {
                let s = activation::sigmoid(x);
                s.clone() * (s.neg() + 1.0)
            }
            Activation::Tanh => {
                let t = activation::tanh(x);
                t.clone().mul(t).neg() + 1.0
            }
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Activation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "relu" => Ok(Activation::Relu),
            "sigmoid" | "logistic" => Ok(Activation::Sigmoid),
            "tanh" => Ok(Activation::Tanh),
            other => Err(Error::invalid(
                "activation",
                format!("unknown activation '{other}'; expected relu, sigmoid or tanh"),
            )),
        }
    }
}

/// Parses `relu|sigmoid|tanh|all` into the list of activations to run.
pub fn parse_activation_list(s: &str) -> Result<Vec<Activation>> {
    if s.eq_ignore_ascii_case("all") {
        return Ok(Activation::ALL.to_vec());
    }
    s.split(',').map(|part| part.trim().parse()).collect()
}
