//! Adam over all of a net's parameters at once: the same update as Burn's `Adam`, computed
//! on one flat vector instead of once per parameter tensor.
//!
//! Burn's `Adam` updates each parameter tensor on its own: about 13 element-wise operations
//! per tensor (two moments, the bias-corrected step, the subtraction), so about 130 kernel
//! launches per step for cnn4's ten weight and bias tensors. On a GPU these nets are bound by
//! launches, not arithmetic (docs/PERFORMANCE.md). Here the gradients are laid end to end
//! (one concatenation), and so are the parameters; the update runs once on that vector, and
//! each parameter becomes its slice of the result: about 10 + 10 + 13 launches. PyTorch's
//! CUDA Adam does the same by default (its "foreach" implementation). nnlab's loop uses it on
//! the GPU backends (`NetBackend::ADAM_OVER_ALL_PARAMETERS`, read by `OptimizerConfig::init`);
//! on a CPU the two concatenations cost more than the launches they save (flex: an MLP step
//! about 10 % slower).
//!
//! The arithmetic is Burn's, operation for operation in the same order (see
//! `burn-optim`'s `AdaptiveMomentum`), so the parameters after each step equal Burn's
//! `Adam`'s (tests/suite/model.rs checks six steps to 1e-6 relative on ndarray, flex and
//! wgpu); no weight decay, no AMSGrad, no gradient clipping.

use burn::module::{AutodiffModule, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::{GradientsParams, MultiGradientsParams, Optimizer};
use burn::record::Record;
use burn::tensor::Tensor;
use burn::tensor::backend::{AutodiffBackend, Backend};

/// Adam over all parameters at once (see the module docs). Parameters without a gradient in
/// a step are left as they are, as Burn's optimisers leave them; when the set of parameters
/// with a gradient (or their sizes) changes between steps, the moments start afresh.
#[derive(Clone)]
pub struct FlatAdam<B: AutodiffBackend> {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    state: Option<FlatState<B::InnerBackend>>,
}

/// The moments of every parameter that had a gradient, in `layout`'s order.
#[derive(Clone)]
struct FlatState<B: Backend> {
    /// Each parameter's id and number of values, in the order of the flat vectors.
    layout: Vec<(ParamId, usize)>,
    /// Steps taken.
    time: usize,
    moment_1: Tensor<B, 1>,
    moment_2: Tensor<B, 1>,
}

/// A saved [`FlatAdam`] state: the steps taken and the two moments (empty before the first
/// step), with the parameter ids and sizes they are laid out by.
#[derive(Record)]
pub struct FlatAdamRecord<B: Backend> {
    /// Steps taken.
    pub time: usize,
    /// Parameter ids, in the order of the moments.
    pub ids: Vec<u64>,
    /// Values per parameter, in the same order.
    pub sizes: Vec<usize>,
    /// First moments of all parameters, end to end.
    pub moment_1: Option<Tensor<B, 1>>,
    /// Second moments, laid out the same way.
    pub moment_2: Option<Tensor<B, 1>>,
}

impl<B: AutodiffBackend> FlatAdam<B> {
    /// Adam with the given decay rates of the two moments and `epsilon`.
    pub fn new(beta_1: f32, beta_2: f32, epsilon: f32) -> Self {
        FlatAdam { beta_1, beta_2, epsilon, state: None }
    }

    /// PyTorch's `torch.optim.Adam` defaults: betas 0.9 / 0.999, eps 1e-8 (Burn's own default
    /// eps is 1e-5), no weight decay.
    pub fn pytorch() -> Self {
        Self::new(0.9, 0.999, 1e-8)
    }

    fn step_flat<M: AutodiffModule<B>>(&mut self, lr: f64, module: M, mut grads: GradientsParams) -> M {
        let mut found = Collect::<B> { grads: &mut grads, layout: vec![], values: vec![], grads_flat: vec![] };
        module.visit(&mut found);
        let Collect { layout, values, grads_flat, .. } = found;
        if layout.is_empty() {
            return module;
        }
        let grad = Tensor::cat(grads_flat, 0);
        let params = Tensor::cat(values, 0);
        // Burn's AdaptiveMomentum::transform, on the flat vectors.
        let state = match self.state.take().filter(|s| s.layout == layout) {
            Some(mut s) => {
                s.moment_1 = s.moment_1.mul_scalar(self.beta_1).add(grad.clone().mul_scalar(1.0 - self.beta_1));
                s.moment_2 = s.moment_2.mul_scalar(self.beta_2).add(grad.square().mul_scalar(1.0 - self.beta_2));
                s.time += 1;
                s
            }
            None => FlatState {
                layout,
                time: 1,
                moment_1: grad.clone().mul_scalar(1.0 - self.beta_1),
                moment_2: grad.square().mul_scalar(1.0 - self.beta_2),
            },
        };
        let time = state.time as i32;
        let bias_correction2_sqrt = (1.0 - self.beta_2.powi(time)).sqrt();
        let combined_factor = bias_correction2_sqrt / (1.0 - self.beta_1.powi(time));
        let step = state
            .moment_1
            .clone()
            .mul_scalar(combined_factor)
            .div(state.moment_2.clone().sqrt().add_scalar(self.epsilon * bias_correction2_sqrt));
        let updated = params - step.mul_scalar(lr);
        let mut place = Place::<B> { layout: &state.layout, updated, at: 0, index: 0 };
        let module = module.map(&mut place);
        self.state = Some(state);
        module
    }
}

/// Gathers each parameter that has a gradient: its id and size, its values and its gradient
/// flattened.
struct Collect<'a, B: AutodiffBackend> {
    grads: &'a mut GradientsParams,
    layout: Vec<(ParamId, usize)>,
    values: Vec<Tensor<B::InnerBackend, 1>>,
    grads_flat: Vec<Tensor<B::InnerBackend, 1>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Collect<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = self.grads.remove::<B::InnerBackend, D>(param.id) {
            let n = grad.shape().num_elements();
            self.layout.push((param.id, n));
            self.grads_flat.push(grad.reshape([n]));
            self.values.push(param.val().inner().reshape([n]));
        }
    }
}

/// Gives each parameter of the layout its slice of the updated flat vector (a view where the
/// backend has them), in the order [`Collect`] met them.
struct Place<'a, B: AutodiffBackend> {
    layout: &'a [(ParamId, usize)],
    updated: Tensor<B::InnerBackend, 1>,
    at: usize,
    index: usize,
}

impl<B: AutodiffBackend> ModuleMapper<B> for Place<'_, B> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        let Some(&(expected, n)) = self.layout.get(self.index).filter(|(pid, _)| *pid == id) else {
            // No gradient this step: unchanged.
            return Param::from_mapped_value(id, tensor, mapper);
        };
        debug_assert_eq!(expected, id);
        let shape = tensor.shape();
        let mut value = Tensor::from_inner(self.updated.clone().slice(self.at..self.at + n).reshape(shape));
        if tensor.is_require_grad() {
            value = value.require_grad();
        }
        self.at += n;
        self.index += 1;
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

impl<M: AutodiffModule<B>, B: AutodiffBackend> Optimizer<M, B> for FlatAdam<B> {
    type Record = FlatAdamRecord<B>;

    fn step(&mut self, lr: f64, module: M, grads: GradientsParams) -> M {
        self.step_flat(lr, module, grads)
    }

    fn step_multi(&mut self, lr: f64, module: M, mut grads: MultiGradientsParams) -> M {
        let mut merge = Merge::<B> { from: &mut grads, into: GradientsParams::new(), _backend: Default::default() };
        module.visit(&mut merge);
        let merged = merge.into;
        self.step_flat(lr, module, merged)
    }

    fn to_record(&self) -> Self::Record {
        match &self.state {
            Some(s) => FlatAdamRecord {
                time: s.time,
                ids: s.layout.iter().map(|(id, _)| id.val()).collect(),
                sizes: s.layout.iter().map(|&(_, n)| n).collect(),
                moment_1: Some(Tensor::from_inner(s.moment_1.clone())),
                moment_2: Some(Tensor::from_inner(s.moment_2.clone())),
            },
            None => FlatAdamRecord { time: 0, ids: vec![], sizes: vec![], moment_1: None, moment_2: None },
        }
    }

    fn load_record(mut self, record: Self::Record) -> Self {
        self.state = match (record.moment_1, record.moment_2) {
            (Some(moment_1), Some(moment_2)) if record.ids.len() == record.sizes.len() => Some(FlatState {
                layout: record.ids.into_iter().map(ParamId::from).zip(record.sizes).collect(),
                time: record.time,
                moment_1: moment_1.inner(),
                moment_2: moment_2.inner(),
            }),
            _ => None,
        };
        self
    }
}
