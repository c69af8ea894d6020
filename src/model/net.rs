//! One Burn module for every architecture: built from an [`ArchSpec`], generic over the
//! backend, with the activation as a parameter.

use super::spec::{ArchSpec, LayerSpec, Shape};
use crate::activation::Activation;
use crate::backend;
use crate::backend::NetBackend;
use crate::error::Result;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig, Relu, Sigmoid, Tanh};
use burn::tensor::{Int, Tensor, backend::Backend};

/// PyTorch's default initialisation: Kaiming-uniform with a = √5, i.e. weights and biases
/// uniform in ±1/√fan_in.
fn pytorch_init() -> Initializer {
    Initializer::KaimingUniform { gain: 1.0 / 3f64.sqrt(), fan_out_only: false }
}

/// One built layer.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Layer<B: Backend> {
    /// Fully connected (flattens an image input first).
    Fc(Linear<B>),
    /// Convolution.
    Conv(Conv2d<B>),
    /// Max pooling.
    Pool(MaxPool2d),
    /// ReLU.
    Relu(Relu),
    /// Logistic sigmoid.
    Sigmoid(Sigmoid),
    /// Hyperbolic tangent.
    Tanh(Tanh),
}

/// A network built from a spec: its layers in order, ending with the prediction layer.
#[derive(Module, Debug)]
pub struct Net<B: Backend> {
    /// The layers, in order.
    pub layers: Vec<Layer<B>>,
}

/// The value flowing between layers: an image batch or a flat batch.
enum Flow<B: Backend> {
    Image(Tensor<B, 4>),
    Flat(Tensor<B, 2>),
}

impl<B: Backend> Flow<B> {
    fn flat(self) -> Tensor<B, 2> {
        match self {
            Flow::Flat(x) => x,
            Flow::Image(x) => {
                let [n, c, h, w] = x.dims();
                x.reshape([n, c * h * w])
            }
        }
    }
    fn map(self, f4: impl FnOnce(Tensor<B, 4>) -> Tensor<B, 4>, f2: impl FnOnce(Tensor<B, 2>) -> Tensor<B, 2>) -> Self {
        match self {
            Flow::Image(x) => Flow::Image(f4(x)),
            Flow::Flat(x) => Flow::Flat(f2(x)),
        }
    }
}

impl<B: Backend> Net<B> {
    /// Builds `spec` with `activation` at every activation layer, initialised as PyTorch
    /// does, on `device`. The spec's shapes are checked first.
    pub fn new(spec: &ArchSpec, activation: Activation, device: &B::Device) -> Result<Self> {
        let shapes = spec.shapes()?;
        let mut input = super::spec::INPUT;
        let mut layers = Vec::with_capacity(spec.layers.len());
        for (layer, output) in spec.layers.iter().zip(shapes) {
            layers.push(match *layer {
                LayerSpec::Fc { out, bias } => Layer::Fc(
                    LinearConfig::new(input.size(), out).with_bias(bias).with_initializer(pytorch_init()).init(device),
                ),
                LayerSpec::Conv { kh, kw, out } => {
                    let Shape::Image(c, _, _) = input else { unreachable!("checked by shapes()") };
                    Layer::Conv(Conv2dConfig::new([c, out], [kh, kw]).with_initializer(pytorch_init()).init(device))
                }
                LayerSpec::MaxPool { size } => {
                    Layer::Pool(MaxPool2dConfig::new([size, size]).with_strides([size, size]).init())
                }
                LayerSpec::Act => match activation {
                    Activation::Relu => Layer::Relu(Relu::new()),
                    Activation::Sigmoid => Layer::Sigmoid(Sigmoid::new()),
                    Activation::Tanh => Layer::Tanh(Tanh::new()),
                },
            });
            input = output;
        }
        Ok(Net { layers })
    }

    /// The net a run with `seed` starts from: seeds the backend's random generator and
    /// draws every parameter at once, holding a process-wide lock meanwhile. The generator
    /// is one per process, so a net built with [`Net::new`] while another thread draws (a
    /// concurrent run, a random tensor) could take part of that thread's sequence; nets
    /// built through this function never interleave with each other, and the training loop
    /// builds its nets this way.
    pub fn seeded(spec: &ArchSpec, activation: Activation, seed: u64, device: &B::Device) -> Result<Self> {
        static INITIALISING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _only_this_net = INITIALISING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        B::seed(device, seed);
        let net = Net::new(spec, activation, device)?;
        net.draw_parameters();
        Ok(net)
    }

    /// Draws every parameter's initial value now. Burn initialises a parameter lazily, on its
    /// first use, from the backend's generator as it is then; after this call the values are
    /// fixed, and clones of the net share them.
    pub fn draw_parameters(&self) {
        struct Draw;
        impl<B: Backend> burn::module::ModuleVisitor<B> for Draw {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
                let _ = param.val();
            }
        }
        self.visit(&mut Draw);
    }

    /// The first layer with weights (conv or fully connected): its weight tensor, the one
    /// whose gradient norm the studies record and whose values they visualise.
    ///
    /// Conv weights are `[out, in, kh, kw]`; FC weights `[in, out]`, returned here as
    /// `[in, out, 1, 1]` so both have rank 4.
    pub fn first_weights(&self) -> Tensor<B, 4> {
        for layer in &self.layers {
            match layer {
                Layer::Conv(c) => return c.weight.val(),
                Layer::Fc(fc) => {
                    let [i, o] = fc.weight.val().dims();
                    return fc.weight.val().reshape([i, o, 1, 1]);
                }
                _ => {}
            }
        }
        unreachable!("every spec ends with the prediction layer")
    }

    /// The first weighted layer's weight parameter, for reading its gradient.
    pub fn first_weight_param(&self) -> FirstWeight<'_, B> {
        for layer in &self.layers {
            match layer {
                Layer::Conv(c) => return FirstWeight::Conv(&c.weight),
                Layer::Fc(fc) => return FirstWeight::Fc(&fc.weight),
                _ => {}
            }
        }
        unreachable!("every spec ends with the prediction layer")
    }
}

impl<B: NetBackend> Net<B> {
    /// Logits `[N, 10]` for images `[N, 3, 32, 32]`.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        forward_layers(Flow::Image(images), &self.layers).flat()
    }

    /// The mean cross-entropy loss of the logits for `images` `[N, 3, 32, 32]` against class
    /// indices `targets` `[N]`, and the logits: `(loss, logits)`, the values of
    /// [`Net::forward`] and [`backend::cross_entropy`], with the prediction layer's bias add and
    /// the loss as one op ([`backend::linear_cross_entropy`]). The loss has the gradients of
    /// the two; under autodiff the logits carry none (a training step reads them for its
    /// accuracy).
    pub fn forward_loss(&self, images: Tensor<B, 4>, targets: Tensor<B, 1, Int>) -> (Tensor<B, 1>, Tensor<B, 2>) {
        let Some((last, hidden)) = self.layers.split_last() else {
            unreachable!("every spec ends with the prediction layer")
        };
        let x = forward_layers(Flow::Image(images), hidden);
        match last {
            Layer::Fc(Linear { weight, bias: Some(bias), .. }) => {
                // Weight before bias, as in `forward_layers`.
                let (weight, bias) = (weight.val(), bias.val());
                match x {
                    Flow::Image(x) => backend::linear_cross_entropy(x, weight, bias, targets),
                    Flow::Flat(x) => backend::linear_cross_entropy(x, weight, bias, targets),
                }
            }
            _ => {
                let logits = forward_layers(x, std::slice::from_ref(last)).flat();
                (backend::cross_entropy(logits.clone(), targets), logits.detach())
            }
        }
    }
}

/// `layers` applied in order to `x`.
fn forward_layers<B: NetBackend>(mut x: Flow<B>, layers: &[Layer<B>]) -> Flow<B> {
    let mut layers = layers.iter().peekable();
    while let Some(layer) = layers.next() {
        x = match layer {
            Layer::Fc(fc) => {
                // Weight before bias: Burn initialises parameters lazily, on first
                // read, so this order fixes which random numbers each one gets.
                let weight = fc.weight.val();
                let bias = fc.bias.as_ref().map(|b| b.val());
                // A ReLU right after a layer with a bias goes with it, as one op.
                let relu = bias.is_some() && layers.next_if(|next| matches!(next, Layer::Relu(_))).is_some();
                // Images go in unflattened: the backend flattens them where it can
                // without a copy.
                Flow::Flat(match (x, bias) {
                    (Flow::Image(x), Some(bias)) if relu => backend::linear_relu(x, weight, bias),
                    (Flow::Flat(x), Some(bias)) if relu => backend::linear_relu(x, weight, bias),
                    (Flow::Image(x), bias) => backend::linear(x, weight, bias),
                    (Flow::Flat(x), bias) => backend::linear(x, weight, bias),
                })
            }
            Layer::Conv(conv) => {
                let x = match x {
                    Flow::Image(x) => x,
                    Flow::Flat(_) => unreachable!("checked by ArchSpec::shapes"),
                };
                // A ReLU right after the conv goes with it, as one op.
                let relu = layers.next_if(|next| matches!(next, Layer::Relu(_))).is_some();
                Flow::Image(conv_forward(conv, x, relu))
            }
            Layer::Pool(pool) => x.map(|x| backend::max_pool2d(x, pool.kernel_size[0]), |x| x),
            Layer::Relu(_) => x.map(backend::relu, backend::relu),
            Layer::Sigmoid(_) => x.map(backend::sigmoid, backend::sigmoid),
            Layer::Tanh(a) => x.map(|x| a.forward(x), |x| a.forward(x)),
        };
    }
    x
}

/// One conv layer, followed by ReLU where `relu`, through [`NetBackend::nn_conv2d`] or
/// [`NetBackend::nn_conv2d_relu`] (the fast kernels where the backend has them); a conv
/// without bias takes Burn's own path.
fn conv_forward<B: NetBackend>(conv: &Conv2d<B>, x: Tensor<B, 4>, relu: bool) -> Tensor<B, 4> {
    match (&conv.bias, relu) {
        (Some(bias), true) => backend::conv2d_relu(x, conv.weight.val(), bias.val(), [0, 0]),
        (Some(bias), false) => backend::conv2d(x, conv.weight.val(), bias.val(), [0, 0]),
        (None, true) => backend::relu(conv.forward(x)),
        (None, false) => conv.forward(x),
    }
}

/// A borrowed first-layer weight, conv or fully connected.
pub enum FirstWeight<'a, B: Backend> {
    /// Conv weight `[out, in, kh, kw]`.
    Conv(&'a Param<Tensor<B, 4>>),
    /// FC weight `[in, out]`.
    Fc(&'a Param<Tensor<B, 2>>),
}
