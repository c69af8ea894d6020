//! A 2 → hidden → 1 MLP whose forward and backward passes are written by hand with Burn
//! tensor ops: no autodiff, so it runs on any [`Backend`] and shows backpropagation plainly.
//!
//! Loss: `L = ½ Σ (t − y)²` over the batch. With the error `e = t − y`:
//! `δ₂ = e ⊙ f'(z₂)`, `δ₁ = (δ₂ W₂ᵀ) ⊙ f'(z₁)`, and the negative gradients are
//! `−∂L/∂W₂ = hᵀ δ₂`, `−∂L/∂b₂ = Σ δ₂`, `−∂L/∂W₁ = xᵀ δ₁`, `−∂L/∂b₁ = Σ δ₁`.
//! The update is the homework's `W += lr · (−∂L/∂W)`.

use crate::activation::Activation;
use burn::tensor::{Tensor, TensorData, backend::Backend};
use rand::{SeedableRng, rngs::StdRng};
use rand_distr::{Distribution, StandardNormal};

/// The network's parameters and its activation (used on the hidden and the output layer).
#[derive(Debug, Clone)]
pub struct ScratchMlp<B: Backend> {
    /// Input → hidden weights, `[inputs, hidden]`.
    pub w1: Tensor<B, 2>,
    /// Hidden bias, `[1, hidden]`.
    pub b1: Tensor<B, 2>,
    /// Hidden → output weights, `[hidden, outputs]`.
    pub w2: Tensor<B, 2>,
    /// Output bias, `[1, outputs]`.
    pub b2: Tensor<B, 2>,
    /// The activation on both layers.
    pub activation: Activation,
}

/// What the forward pass keeps for the backward pass.
#[derive(Debug, Clone)]
pub struct ForwardCache<B: Backend> {
    /// Hidden pre-activation `z₁ = x W₁ + b₁`.
    pub z1: Tensor<B, 2>,
    /// Hidden activation `h = f(z₁)`.
    pub h: Tensor<B, 2>,
    /// Output pre-activation `z₂ = h W₂ + b₂`.
    pub z2: Tensor<B, 2>,
    /// Network output `y = f(z₂)`.
    pub y: Tensor<B, 2>,
}

/// Gradients of `L = ½ Σ (t − y)²` with respect to each parameter (not negated).
#[derive(Debug, Clone)]
pub struct Gradients<B: Backend> {
    /// ∂L/∂W₁.
    pub w1: Tensor<B, 2>,
    /// ∂L/∂b₁.
    pub b1: Tensor<B, 2>,
    /// ∂L/∂W₂.
    pub w2: Tensor<B, 2>,
    /// ∂L/∂b₂.
    pub b2: Tensor<B, 2>,
}

impl<B: Backend> ScratchMlp<B> {
    /// Weights drawn from N(0, 1) with a seeded generator, biases zero, as in the homework.
    pub fn new(
        inputs: usize,
        hidden: usize,
        outputs: usize,
        activation: Activation,
        seed: u64,
        device: &B::Device,
    ) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut normal = |rows: usize, cols: usize| {
            let values: Vec<f32> = (0..rows * cols).map(|_| StandardNormal.sample(&mut rng)).collect();
            Tensor::from_data(TensorData::new(values, [rows, cols]), device)
        };
        let w1 = normal(inputs, hidden);
        let w2 = normal(hidden, outputs);
        Self { w1, b1: Tensor::zeros([1, hidden], device), w2, b2: Tensor::zeros([1, outputs], device), activation }
    }

    /// Forward pass, keeping the intermediate values the backward pass needs.
    pub fn forward(&self, x: Tensor<B, 2>) -> ForwardCache<B> {
        let z1 = x.matmul(self.w1.clone()) + self.b1.clone();
        let h = self.activation.apply(z1.clone());
        let z2 = h.clone().matmul(self.w2.clone()) + self.b2.clone();
        let y = self.activation.apply(z2.clone());
        ForwardCache { z1, h, z2, y }
    }

    /// Network output for `x`.
    pub fn predict(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.forward(x).y
    }

    /// Hand-written backward pass of `L = ½ Σ (t − y)²`.
    pub fn backward(&self, x: Tensor<B, 2>, targets: Tensor<B, 2>, cache: &ForwardCache<B>) -> Gradients<B> {
        let error = targets - cache.y.clone();
        let delta2 = error * self.activation.derivative(cache.z2.clone());
        let delta1 = delta2.clone().matmul(self.w2.clone().transpose()) * self.activation.derivative(cache.z1.clone());
        Gradients {
            w2: cache.h.clone().transpose().matmul(delta2.clone()).neg(),
            b2: delta2.sum_dim(0).neg(),
            w1: x.transpose().matmul(delta1.clone()).neg(),
            b1: delta1.sum_dim(0).neg(),
        }
    }

    /// The homework's update: each parameter moves by `−lr · ∂L/∂θ`.
    pub fn apply(self, grads: Gradients<B>, lr: f64) -> Self {
        Self {
            w1: self.w1 - grads.w1.mul_scalar(lr),
            b1: self.b1 - grads.b1.mul_scalar(lr),
            w2: self.w2 - grads.w2.mul_scalar(lr),
            b2: self.b2 - grads.b2.mul_scalar(lr),
            activation: self.activation,
        }
    }
}
