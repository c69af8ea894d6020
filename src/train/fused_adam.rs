//! Adam as one update of all parameter tensors through [`NetBackend::nn_adam_updates`]: one
//! GPU kernel for all of them on the GPU backends ([`crate::kernels::gpu_fused`]), Burn's
//! tensor ops elsewhere.
//!
//! Burn's `Adam` runs about 13 element-wise operations per parameter tensor: about 130
//! kernel launches per cnn4 step, on GPUs where these nets are bound by launches, not
//! arithmetic (docs/PERFORMANCE.md). An earlier version of this optimiser ran the update
//! once over all parameters laid end to end (two concatenations, then each parameter its
//! slice): still 42 launches of cnn4's 134 per step, counted on wgpu. One fused kernel per
//! parameter made it 10; one kernel over all parameters (each tensor bound on its own, a
//! range of the launch's units each) makes it 1. nnlab's loop uses it where the backend says
//! so (`NetBackend::FUSED_ADAM`, read by `OptimizerConfig::init`); the CPU backends keep
//! Burn's `Adam`, whose operations the default `nn_adam_updates` repeats.
//!
//! The arithmetic is Burn's, operation for operation in the same order (see
//! `burn-optim`'s `AdaptiveMomentum`), so the parameters after each step equal Burn's
//! `Adam`'s (tests/suite/model.rs checks six steps to 1e-6 relative on ndarray, flex and
//! wgpu); no weight decay, no AMSGrad, no gradient clipping.

use crate::backend::NetBackend;
use burn::module::{AutodiffModule, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::{GradientsParams, MultiGradientsParams, Optimizer};
use burn::record::Record;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ops::{FloatTensor, FloatTensorOps};
use burn::tensor::{Tensor, TensorPrimitive};

/// The scalars of one Adam step, shared by every parameter: `m ← β₁·m + (1−β₁)·g`,
/// `v ← β₂·v + (1−β₂)·g²`, `p ← p − lr · (m·factor) / (√v + epsilon)`, with Burn's bias
/// corrections folded into `factor` and `epsilon`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamStep {
    /// Decay of the first moment.
    pub beta_1: f32,
    /// Decay of the second moment.
    pub beta_2: f32,
    /// `√(1 − β₂ᵗ) / (1 − β₁ᵗ)` at step `t` (from 1).
    pub factor: f32,
    /// `ε · √(1 − β₂ᵗ)`.
    pub epsilon: f32,
    /// The learning rate.
    pub lr: f32,
}

impl AdamStep {
    /// The scalars of step `time` (1 for the first) with these decay rates, `epsilon` and
    /// learning rate `lr`, folded as Burn's `AdaptiveMomentum` folds them.
    pub fn new(beta_1: f32, beta_2: f32, epsilon: f32, time: i32, lr: f64) -> Self {
        let bias_correction2_sqrt = (1.0 - beta_2.powi(time)).sqrt();
        AdamStep {
            beta_1,
            beta_2,
            factor: bias_correction2_sqrt / (1.0 - beta_1.powi(time)),
            epsilon: epsilon * bias_correction2_sqrt,
            lr: lr as f32,
        }
    }

    /// [`Self::apply`] to each parameter tensor in turn: what [`NetBackend::nn_adam_updates`]
    /// does by default, and where a backend's own kernel does not take the tensors.
    pub fn apply_each<B: Backend>(&self, updates: Vec<AdamInput<B>>) -> Vec<AdamOutput<B>> {
        updates.into_iter().map(|(param, grad, moments)| self.apply::<B>(param, grad, moments)).collect()
    }

    /// One update of one parameter tensor in Burn's tensor ops: the new parameter and
    /// moments, shaped as `param`.
    pub fn apply<B: Backend>(
        &self,
        param: FloatTensor<B>,
        grad: FloatTensor<B>,
        moments: Option<(FloatTensor<B>, FloatTensor<B>)>,
    ) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
        let float = |t: FloatTensor<B>| Tensor::<B, 1>::from_primitive(TensorPrimitive::Float(t));
        let shape = burn::tensor::TensorMetadata::shape(&param);
        let n = shape.num_elements();
        let flat = |t: FloatTensor<B>| float(t).reshape([n]);
        let (param, grad) = (flat(param), flat(grad));
        let (moment_1, moment_2) = match moments {
            Some((m, v)) => (
                flat(m).mul_scalar(self.beta_1).add(grad.clone().mul_scalar(1.0 - self.beta_1)),
                flat(v).mul_scalar(self.beta_2).add(grad.square().mul_scalar(1.0 - self.beta_2)),
            ),
            None => (grad.clone().mul_scalar(1.0 - self.beta_1), grad.square().mul_scalar(1.0 - self.beta_2)),
        };
        let step = moment_1.clone().mul_scalar(self.factor).div(moment_2.clone().sqrt().add_scalar(self.epsilon));
        let updated = param - step.mul_scalar(self.lr);
        let back = |t: Tensor<B, 1>| B::float_reshape(t.into_primitive().tensor(), shape.clone());
        (back(updated), back(moment_1), back(moment_2))
    }
}

/// Adam, one fused update of all parameters per step (see the module docs). Parameters
/// without a gradient in a step are left as they are, as Burn's optimisers leave them; when
/// the set of parameters with a gradient (or their sizes) changes between steps, the
/// moments start afresh.
#[derive(Clone)]
pub struct FusedAdam<B: AutodiffBackend> {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    state: Option<FusedState<B::InnerBackend>>,
}

/// The moments of every parameter that had a gradient, in `layout`'s order.
#[derive(Clone)]
struct FusedState<B: Backend> {
    /// Each parameter's id and number of values, in the order of `moments`.
    layout: Vec<(ParamId, usize)>,
    /// Steps taken.
    time: usize,
    /// Each parameter's two moments, shaped as the parameter.
    moments: Vec<Moments<B>>,
}

/// A saved [`FusedAdam`] state: the steps taken and the two moments of every parameter laid
/// end to end (empty before the first step), with the parameter ids and shapes they are laid
/// out by.
#[derive(Record)]
pub struct FusedAdamRecord<B: Backend> {
    /// Steps taken.
    pub time: usize,
    /// Parameter ids, in the order of the moments.
    pub ids: Vec<u64>,
    /// Each parameter's shape, in the same order.
    pub shapes: Vec<Vec<usize>>,
    /// First moments of all parameters, end to end.
    pub moment_1: Option<Tensor<B, 1>>,
    /// Second moments, laid out the same way.
    pub moment_2: Option<Tensor<B, 1>>,
}

impl<B: AutodiffBackend> FusedAdam<B>
where
    B::InnerBackend: NetBackend,
{
    /// Adam with the given decay rates of the two moments and `epsilon`.
    pub fn new(beta_1: f32, beta_2: f32, epsilon: f32) -> Self {
        FusedAdam { beta_1, beta_2, epsilon, state: None }
    }

    /// PyTorch's `torch.optim.Adam` defaults: betas 0.9 / 0.999, eps 1e-8 (Burn's own default
    /// eps is 1e-5), no weight decay.
    pub fn pytorch() -> Self {
        Self::new(0.9, 0.999, 1e-8)
    }

    fn step_fused<M: AutodiffModule<B>>(&mut self, lr: f64, module: M, mut grads: GradientsParams) -> M {
        let mut found = Found::<B> { grads: &mut grads, layout: vec![], inputs: vec![] };
        module.visit(&mut found);
        let Found { layout, mut inputs, .. } = found;
        if layout.is_empty() {
            return module;
        }
        let (time, moments) = match self.state.take().filter(|s| s.layout == layout) {
            Some(s) => (s.time + 1, s.moments.into_iter().map(Some).collect()),
            None => (1, vec![None; layout.len()]),
        };
        let step = AdamStep::new(self.beta_1, self.beta_2, self.epsilon, time as i32, lr);
        for (input, moments) in inputs.iter_mut().zip(moments) {
            input.2 = moments;
        }
        let (values, moments): (Vec<_>, Vec<_>) = B::InnerBackend::nn_adam_updates(inputs, &step)
            .into_iter()
            .map(|(value, moment_1, moment_2)| (value, (moment_1, moment_2)))
            .unzip();
        let mut replace = Replace::<B> { layout: &layout, values: values.into_iter(), index: 0 };
        let module = module.map(&mut replace);
        self.state = Some(FusedState { layout, time, moments });
        module
    }
}

/// Each parameter that has a gradient, in the order the module visits them: its id and size
/// (`layout`), and its value and gradient (`inputs`, the moments still to be filled in), the
/// gradient taken out of `grads`.
struct Found<'a, B: AutodiffBackend> {
    grads: &'a mut GradientsParams,
    layout: Vec<(ParamId, usize)>,
    inputs: Vec<AdamInput<B::InnerBackend>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Found<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = self.grads.remove::<B::InnerBackend, D>(param.id) {
            self.layout.push((param.id, grad.shape().num_elements()));
            let value = param.val().inner().into_primitive().tensor();
            self.inputs.push((value, grad.into_primitive().tensor(), None));
        }
    }
}

/// A parameter's two moments on backend `B`, shaped as the parameter.
type Moments<B> = (FloatTensor<B>, FloatTensor<B>);

/// One parameter tensor's Adam inputs on backend `B`: its value, its gradient and its two
/// moments (`None` before the first step), as [`NetBackend::nn_adam_updates`] takes them.
pub type AdamInput<B> = (FloatTensor<B>, FloatTensor<B>, Option<(FloatTensor<B>, FloatTensor<B>)>);

/// One parameter tensor after an Adam step: its new value and its two new moments.
pub type AdamOutput<B> = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

/// Gives each parameter of the layout, in the order [`Found`] met them, its new value.
struct Replace<'a, B: AutodiffBackend> {
    layout: &'a [(ParamId, usize)],
    values: std::vec::IntoIter<FloatTensor<B::InnerBackend>>,
    index: usize,
}

impl<B: AutodiffBackend> ModuleMapper<B> for Replace<'_, B> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        if self.layout.get(self.index).map(|&(pid, _)| pid) != Some(id) {
            // No gradient this step: unchanged.
            return Param::from_mapped_value(id, tensor, mapper);
        }
        // One new value per parameter of the layout: `Found` walked the same module.
        let Some(updated) = self.values.next() else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        self.index += 1;
        let mut value = Tensor::from_inner(Tensor::from_primitive(TensorPrimitive::Float(updated)));
        if tensor.is_require_grad() {
            value = value.require_grad();
        }
        Param::from_mapped_value(id, value, mapper)
    }
}

/// Lays [`MultiGradientsParams`] (gradients from several devices) out as one
/// [`GradientsParams`], summed per parameter on the device Burn picks for it.
struct Merge<'a, B: AutodiffBackend> {
    from: &'a mut MultiGradientsParams,
    into: GradientsParams,
    _backend: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Merge<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some((grad, _device)) = self.from.remove::<B::InnerBackend, D>(param.id) {
            self.into.register::<B::InnerBackend, D>(param.id, grad);
        }
    }
}

impl<M: AutodiffModule<B>, B: AutodiffBackend> Optimizer<M, B> for FusedAdam<B>
where
    B::InnerBackend: NetBackend,
{
    type Record = FusedAdamRecord<B>;

    fn step(&mut self, lr: f64, module: M, grads: GradientsParams) -> M {
        self.step_fused(lr, module, grads)
    }

    fn step_multi(&mut self, lr: f64, module: M, mut grads: MultiGradientsParams) -> M {
        let mut merge = Merge::<B> { from: &mut grads, into: GradientsParams::new(), _backend: Default::default() };
        module.visit(&mut merge);
        let merged = merge.into;
        self.step_fused(lr, module, merged)
    }

    fn to_record(&self) -> Self::Record {
        let flat = |t: &FloatTensor<B::InnerBackend>| {
            Tensor::<B::InnerBackend, 1>::from_primitive(TensorPrimitive::Float(B::InnerBackend::float_reshape(
                t.clone(),
                [burn::tensor::TensorMetadata::shape(t).num_elements()].into(),
            )))
        };
        match &self.state {
            Some(s) => FusedAdamRecord {
                time: s.time,
                ids: s.layout.iter().map(|(id, _)| id.val()).collect(),
                moment_1: Some(Tensor::from_inner(Tensor::cat(s.moments.iter().map(|(m, _)| flat(m)).collect(), 0))),
                moment_2: Some(Tensor::from_inner(Tensor::cat(s.moments.iter().map(|(_, v)| flat(v)).collect(), 0))),
                shapes: s.moments.iter().map(|(m, _)| burn::tensor::TensorMetadata::shape(m).to_vec()).collect(),
            },
            None => FusedAdamRecord { time: 0, ids: vec![], shapes: vec![], moment_1: None, moment_2: None },
        }
    }

    fn load_record(mut self, record: Self::Record) -> Self {
        let FusedAdamRecord { time, ids, shapes, moment_1, moment_2 } = record;
        let sizes: Vec<usize> = shapes.iter().map(|s| s.iter().product()).collect();
        self.state = match (moment_1, moment_2) {
            (Some(moment_1), Some(moment_2))
                if ids.len() == shapes.len()
                    && moment_1.dims()[0] == sizes.iter().sum::<usize>()
                    && moment_2.dims()[0] == moment_1.dims()[0] =>
            {
                let (moment_1, moment_2) = (moment_1.inner(), moment_2.inner());
                let mut at = 0;
                let moments = shapes
                    .iter()
                    .zip(&sizes)
                    .map(|(shape, &n)| {
                        let part = |t: &Tensor<B::InnerBackend, 1>| {
                            B::InnerBackend::float_reshape(
                                t.clone().slice(at..at + n).into_primitive().tensor(),
                                shape.clone().into(),
                            )
                        };
                        let pair = (part(&moment_1), part(&moment_2));
                        at += n;
                        pair
                    })
                    .collect();
                Some(FusedState { layout: ids.into_iter().map(ParamId::from).zip(sizes).collect(), time, moments })
            }
            _ => None,
        };
        self
    }
}
