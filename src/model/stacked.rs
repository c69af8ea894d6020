//! K independent nets of one architecture trained as one ("stacked members"): a lever of
//! issue #14 under measurement, not yet used by the studies.
//!
//! On an H100, nnlab's cuda step of cnn4 takes 2.5 ms and is bound by kernel launches (a few
//! hundred small kernels per step); running K runs on K threads did not add throughput,
//! because every thread's launches go through the same device client (docs/PERFORMANCE.md).
//! Stacking puts the K members into one net whose every layer is one launch for all members:
//!
//! - a fully connected layer is one batched product `x [K, N, in] · W [K, in, out]`;
//! - a convolution is [`crate::conv::im2col`] over the K·N images, then one batched product
//!   `cols [K, N·L, C·kh·kw] · W [K, C·kh·kw, O]` (members as the batch dimension — not Burn's
//!   grouped convolution, which a probe found no faster than K separate ones); its weight
//!   gradient is another batched product, its input gradient Burn's grouped-convolution input
//!   gradient ([`NetBackend::nn_stacked_conv2d`], one custom backward step);
//! - pooling and activations treat the K·N images as one batch.
//!
//! The loss is the sum over members of each member's mean cross-entropy, so each member's
//! parameters get exactly its own gradient, and Adam (elementwise) updates each member as it
//! would alone: [`StackedNet::from_members`] of K freshly initialised [`Net`]s trains as those
//! K nets would (tests/suite/stacked.rs checks it against separate nets on ndarray).
//! `benches/stacked.rs` times one stacked step against K separate ones on every compiled
//! backend.

use super::net::{Layer, Net};
use crate::backend::{self, NetBackend};
use crate::error::{Error, Result};
use burn::module::{Module, Param};
use burn::nn::pool::MaxPool2d;
use burn::nn::{Relu, Sigmoid, Tanh};
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::activation::log_softmax;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

/// A fully connected layer of K members: weight `[K, in, out]`, bias `[K, 1, out]`.
#[derive(Module, Debug)]
pub struct StackedLinear<B: Backend> {
    /// The members' weights.
    pub weight: Param<Tensor<B, 3>>,
    /// The members' biases, when the layer has them.
    pub bias: Option<Param<Tensor<B, 3>>>,
}

/// A stride-1, unpadded convolution of K members: weight `[K, C·kh·kw, O]` (each member's
/// `[O, C, kh, kw]` flattened and transposed), bias `[K, 1, O]`.
#[derive(Module, Debug)]
pub struct StackedConv<B: Backend> {
    /// The members' weights.
    pub weight: Param<Tensor<B, 3>>,
    /// The members' biases.
    pub bias: Param<Tensor<B, 3>>,
    /// Kernel height and width.
    #[module(skip)]
    pub kernel: [usize; 2],
}

/// One layer of a [`StackedNet`].
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum StackedLayer<B: Backend> {
    /// Fully connected.
    Fc(StackedLinear<B>),
    /// Convolution.
    Conv(StackedConv<B>),
    /// Max pooling.
    Pool(MaxPool2d),
    /// ReLU.
    Relu(Relu),
    /// Logistic sigmoid.
    Sigmoid(Sigmoid),
    /// Hyperbolic tangent.
    Tanh(Tanh),
}

/// K nets of one architecture as one module (see the module docs).
#[derive(Module, Debug)]
pub struct StackedNet<B: Backend> {
    /// The layers, in order.
    pub layers: Vec<StackedLayer<B>>,
}

/// The value between layers: `[K·N, C, H, W]` images or `[K, N, F]` features.
enum Flow<B: Backend> {
    Image(Tensor<B, 4>),
    Flat(Tensor<B, 3>),
}

impl<B: Backend> StackedNet<B> {
    /// Stacks `members` (nets of one architecture, as [`Net::new`] built them) into one net
    /// whose member k computes what `members[k]` computes. Parameters not yet drawn are drawn
    /// here, member after member: build each member with [`Net::seeded`] (or call
    /// [`Net::draw_parameters`] right after building it) to give it the values it would have
    /// alone.
    pub fn from_members(members: &[Net<B>]) -> Result<Self> {
        let first = members.first().ok_or_else(|| Error::invalid("members", "none: stack at least one net"))?;
        let different = || Error::invalid("members", "nets of different architectures: stack nets of one spec");
        if members.iter().any(|m| m.layers.len() != first.layers.len()) {
            return Err(different());
        }
        // Layer `i` of every member as `pick` reads it, which must accept each of them.
        let each = |i: usize, pick: &dyn Fn(&Layer<B>) -> bool| -> Result<Vec<&Layer<B>>> {
            members.iter().map(|m| &m.layers[i]).map(|l| if pick(l) { Ok(l) } else { Err(different()) }).collect()
        };
        let stack3 = |ts: Vec<Tensor<B, 2>>| Param::from_tensor(Tensor::stack::<3>(ts, 0).detach());
        let mut layers = Vec::with_capacity(first.layers.len());
        for (i, layer) in first.layers.iter().enumerate() {
            layers.push(match layer {
                Layer::Fc(fc) => {
                    let dims = fc.weight.val().dims();
                    let same = |l: &Layer<B>| {
                        matches!(l, Layer::Fc(l) if l.weight.val().dims() == dims && l.bias.is_some() == fc.bias.is_some())
                    };
                    let linears: Vec<_> =
                        each(i, &same)?.into_iter().filter_map(|l| if let Layer::Fc(l) = l { Some(l) } else { None }).collect();
                    StackedLayer::Fc(StackedLinear {
                        weight: stack3(linears.iter().map(|l| l.weight.val()).collect()),
                        bias: fc.bias.as_ref().map(|_| {
                            stack3(linears.iter().filter_map(|l| l.bias.as_ref()).map(|b| b.val().reshape([1, dims[1]])).collect())
                        }),
                    })
                }
                Layer::Conv(conv) => {
                    let [o, c, kh, kw] = conv.weight.val().dims();
                    let same = |l: &Layer<B>| {
                        matches!(l, Layer::Conv(l) if l.weight.val().dims() == [o, c, kh, kw] && l.bias.is_some())
                    };
                    let convs: Vec<_> = each(i, &same)?
                        .into_iter()
                        .filter_map(|l| if let Layer::Conv(l) = l { Some(l) } else { None })
                        .collect();
                    StackedLayer::Conv(StackedConv {
                        weight: stack3(
                            convs.iter().map(|l| l.weight.val().reshape([o, c * kh * kw]).transpose()).collect(),
                        ),
                        bias: stack3(convs.iter().filter_map(|l| l.bias.as_ref()).map(|b| b.val().reshape([1, o])).collect()),
                        kernel: [kh, kw],
                    })
                }
                other => {
                    each(i, &|l| std::mem::discriminant(l) == std::mem::discriminant(other))?;
                    match other {
                        Layer::Pool(p) => StackedLayer::Pool(p.clone()),
                        Layer::Relu(a) => StackedLayer::Relu(a.clone()),
                        Layer::Sigmoid(a) => StackedLayer::Sigmoid(a.clone()),
                        Layer::Tanh(a) => StackedLayer::Tanh(a.clone()),
                        Layer::Fc(_) | Layer::Conv(_) => unreachable!("matched above"),
                    }
                }
            });
        }
        Ok(StackedNet { layers })
    }
}

impl<B: NetBackend> StackedNet<B> {
    /// Logits `[K, N, 10]` for images `[K, N, 3, 32, 32]` (member k sees `images[k]`).
    pub fn forward(&self, images: Tensor<B, 5>) -> Tensor<B, 3> {
        let [k, n, c, h, w] = images.dims();
        let mut x = Flow::Image(images.reshape([k * n, c, h, w]));
        for layer in &self.layers {
            x = match layer {
                StackedLayer::Fc(fc) => {
                    let x = match x {
                        Flow::Image(x) => {
                            let [_, c, h, w] = x.dims();
                            x.reshape([k, n, c * h * w])
                        }
                        Flow::Flat(x) => x,
                    };
                    let y = x.matmul(fc.weight.val());
                    Flow::Flat(match &fc.bias {
                        Some(b) => y + b.val(),
                        None => y,
                    })
                }
                StackedLayer::Conv(conv) => {
                    let Flow::Image(x) = x else { unreachable!("checked by ArchSpec::shapes") };
                    Flow::Image(backend::stacked_conv2d(x, conv.weight.val(), conv.bias.val(), conv.kernel))
                }
                StackedLayer::Pool(p) => match x {
                    Flow::Image(x) => Flow::Image(backend::max_pool2d(x, p.kernel_size[0])),
                    flat => flat,
                },
                StackedLayer::Relu(a) => map(x, |x| a.forward(x), |x| a.forward(x)),
                StackedLayer::Sigmoid(_) => map(x, backend::sigmoid, backend::sigmoid),
                StackedLayer::Tanh(a) => map(x, |x| a.forward(x), |x| a.forward(x)),
            };
        }
        match x {
            Flow::Flat(x) => x,
            Flow::Image(x) => {
                let [_, c, h, w] = x.dims();
                x.reshape([k, n, c * h * w])
            }
        }
    }
}

fn map<B: Backend>(
    x: Flow<B>,
    f4: impl FnOnce(Tensor<B, 4>) -> Tensor<B, 4>,
    f3: impl FnOnce(Tensor<B, 3>) -> Tensor<B, 3>,
) -> Flow<B> {
    match x {
        Flow::Image(x) => Flow::Image(f4(x)),
        Flow::Flat(x) => Flow::Flat(f3(x)),
    }
}

/// Each member's mean cross-entropy `[K]` of `logits` `[K, N, classes]` against `labels`
/// `[K, N]`; their sum is the stacked loss whose gradient is each member's own.
pub fn member_losses<B: Backend>(logits: Tensor<B, 3>, labels: Tensor<B, 2, Int>) -> Tensor<B, 1> {
    let [k, n, _] = logits.dims();
    let picked = log_softmax(logits, 2).gather(2, labels.reshape([k, n, 1]));
    picked.reshape([k, n]).mean_dim(1).reshape([k]).neg()
}

/// One training step of all members: forward, [`member_losses`], backward through their sum,
/// `optim` update (the stacked counterpart of [`crate::train::train_step`]). Returns the
/// updated net and each member's loss `[K]`, on the device.
pub fn train_step_stacked<B: crate::backend::TrainBackend, O: Optimizer<StackedNet<B>, B>>(
    model: StackedNet<B>,
    optim: &mut O,
    images: Tensor<B, 5>,
    labels: Tensor<B, 2, Int>,
    lr: f64,
) -> (StackedNet<B>, Tensor<B::InnerBackend, 1>) {
    let losses = member_losses(model.forward(images), labels);
    let grads = losses.clone().sum().backward();
    let grads = GradientsParams::from_grads(grads, &model);
    (optim.step(lr, model, grads), losses.inner())
}
